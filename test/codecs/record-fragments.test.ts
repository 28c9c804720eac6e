// Documents joined from pieces: the bytes are the UTF-8 of the text, whatever mix of ASCII and other text went in.
import { Pieces, splicedEncoder } from '../../src/codecs/record-fragments';
import { InstanceRecord, InstanceView } from '../../src/domain/model';
import { makeInstance } from '../helpers/instances';

function view(record: InstanceRecord, lastRenewalTimestamp: number): InstanceView {
  return { record, lastRenewalTimestamp };
}

const record = (metadata: Record<string, string>): InstanceRecord => ({
  instance: makeInstance({ metadata }),
  statusSource: 'client',
  actionType: 'ADDED',
  lastUpdatedTimestamp: 1,
  registrationTimestamp: 1,
  serviceUpTimestamp: 1,
  evictionTimestamp: 0,
  revision: 1,
});

describe('Pieces', () => {
  describe('toBuffer', () => {
    it('writes the UTF-8 of ASCII and non-ASCII pieces alike', () => {
      const pieces = new Pieces().add('{"a":"').add('ünïcödé ☺ 𝄞').add('","b":"plain"').add('\u2028').add('}');
      expect(pieces.toBuffer().equals(Buffer.from(pieces.toString(), 'utf8'))).toBe(true);
      expect(pieces.toString()).toBe('{"a":"ünïcödé ☺ 𝄞","b":"plain"\u2028}');
    });

    it('writes text added with its measured size', () => {
      const text = 'naïve';
      const pieces = new Pieces().addMeasured('ascii:', 6).addMeasured(text, Buffer.byteLength(text));
      expect(pieces.toBuffer().toString('utf8')).toBe('ascii:naïve');
    });

    it('writes nothing for no pieces', () => {
      expect(new Pieces().toBuffer().length).toBe(0);
    });
  });
});

describe('splicedEncoder', () => {
  describe('write', () => {
    it('splices the current renewal time between the cached halves, non-ASCII text included', () => {
      let encodes = 0;
      const encoder = splicedEncoder((r) => {
        encodes++;
        return [`{"m":"${r.instance.metadata.k}","t":`, ',"end":"é"}'];
      });
      const r = record({ k: 'ünï' });
      const first = new Pieces();
      encoder.write(view(r, 5), first);
      const second = new Pieces();
      encoder.write(view(r, 123456), second);
      expect(first.toBuffer().toString('utf8')).toBe('{"m":"ünï","t":5,"end":"é"}');
      expect(second.toBuffer().toString('utf8')).toBe('{"m":"ünï","t":123456,"end":"é"}');
      expect(encoder.text(view(r, 7))).toBe('{"m":"ünï","t":7,"end":"é"}');
      expect(encodes).toBe(1);
    });
  });
});
