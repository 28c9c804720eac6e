// Reading `applications` and `application` documents app by app, as the admin CLI and the client do.
import { DecodeError } from '../../src/codecs/instance-decoder';
import { decodeApplicationJson, decodeApplicationsJson } from '../../src/codecs/json';
import { zoneOf } from '../../src/domain/model';

const DEFAULTS = { renewalIntervalSecs: 30, durationSecs: 90, now: 0 };
const instance = (id: string, app = 'ORDERS'): Record<string, unknown> => ({ instanceId: id, hostName: `${id}.internal`, app, ipAddr: '10.0.0.1', status: 'UP' });

describe('JSON application documents', () => {
  describe('decodeApplicationsJson', () => {
    it('groups the instances by application, keeping empty applications and single-object lists', () => {
      const doc = decodeApplicationsJson(
        { applications: { versions__delta: '3', apps__hashcode: 'UP_2_', application: [{ name: 'ORDERS', instance: [instance('o-1'), instance('o-2')] }, { name: 'EMPTY', instance: [] }, { name: 'SOLO', instance: instance('s-1', 'SOLO') }] } },
        DEFAULTS,
      );
      expect(doc.applications.map((a) => [a.name, a.instances.map((i) => i.id)])).toEqual([['ORDERS', ['o-1', 'o-2']], ['EMPTY', []], ['SOLO', ['s-1']]]);
      expect(doc.instances.map((i) => i.id)).toEqual(['o-1', 'o-2', 's-1']);
      expect(doc.applications[0].instances[0]).toBe(doc.instances[0]);
    });

    it('throws DecodeError when the document is not an applications document', () => {
      expect(() => decodeApplicationsJson('{', DEFAULTS)).toThrow(new DecodeError('cannot parse applications document'));
      expect(() => decodeApplicationsJson({ application: {} }, DEFAULTS)).toThrow(new DecodeError('not an applications document'));
    });
  });

  describe('decodeApplicationJson', () => {
    it('reads the name and the instances from text or a parsed object', () => {
      const body = { application: { name: 'ORDERS', instance: instance('o-1') } };
      expect(decodeApplicationJson(JSON.stringify(body), DEFAULTS)).toMatchObject({ name: 'ORDERS', instances: [{ id: 'o-1', app: 'ORDERS', status: 'UP' }] });
      expect(decodeApplicationJson(body, DEFAULTS).instances).toHaveLength(1);
    });

    it('takes the Amazon instance-id as the id and keeps the availability zone', () => {
      const amazon = { hostName: 'ip-10-1-2-3', app: 'EDGE', dataCenterInfo: { '@class': 'com.netflix.appinfo.AmazonInfo', name: 'Amazon', metadata: { 'instance-id': 'i-0abc', 'availability-zone': 'us-east-1a' } } };
      const [d] = decodeApplicationJson({ application: { name: 'EDGE', instance: [amazon] } }, DEFAULTS).instances;
      expect(d.id).toBe('i-0abc');
      expect(zoneOf(d)).toBe('us-east-1a');
    });

    it('throws DecodeError when the document is not an application document or an instance is unreadable', () => {
      expect(() => decodeApplicationJson('nope', DEFAULTS)).toThrow(new DecodeError('cannot parse application document'));
      expect(() => decodeApplicationJson({ applications: {} }, DEFAULTS)).toThrow(new DecodeError('not an application document'));
      expect(() => decodeApplicationJson({ application: { name: 'A', instance: [{ ...instance('a-1', 'A'), port: { $: 'x' } }] } }, DEFAULTS)).toThrow(DecodeError);
    });
  });
});
