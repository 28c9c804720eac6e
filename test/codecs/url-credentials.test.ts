// Credentials in server URLs: one module for the server, the replication client, the client library and the admin CLI.
import { basicAuthorization, maskedUserinfo, splitCredentials, stripCredentials } from '../../src/codecs/url-credentials';

describe('url-credentials', () => {
  describe('splitCredentials', () => {
    it('percent-decodes the user and password and returns the URL without them', () => {
      expect(splitCredentials('http://peer:s%40cret@10.0.0.1:8761/eureka/')).toEqual({ url: 'http://10.0.0.1:8761/eureka/', credentials: { username: 'peer', password: 's@cret' } });
    });

    it('ends the userinfo at the last @ of the authority when a password holds a raw @', () => {
      expect(splitCredentials('http://peer:p@ss@h:1/eureka/')).toEqual({ url: 'http://h:1/eureka/', credentials: { username: 'peer', password: 'p@ss' } });
    });

    it('leaves an @ in the path, query or fragment alone', () => {
      expect(splitCredentials('http://h:1/eureka/x@y')).toEqual({ url: 'http://h:1/eureka/x@y' });
      expect(splitCredentials('http://h:1/?a=b@c')).toEqual({ url: 'http://h:1/?a=b@c' });
      expect(splitCredentials('http://h:1#a@b')).toEqual({ url: 'http://h:1#a@b' });
    });

    it('keeps a malformed percent escape as written', () => {
      expect(splitCredentials('http://u:100%@h/').credentials).toEqual({ username: 'u', password: '100%' });
    });
  });

  describe('stripCredentials', () => {
    it('removes user:password@ and nothing else', () => {
      expect(stripCredentials('https://token@zone-a.invalid/eureka/')).toBe('https://zone-a.invalid/eureka/');
      expect(stripCredentials('http://u:p@ss@h/eureka/')).toBe('http://h/eureka/');
      expect(stripCredentials('http://h/eureka/?a=b@c')).toBe('http://h/eureka/?a=b@c');
    });
  });

  describe('maskedUserinfo', () => {
    it('shows the user as written and masks a password', () => {
      expect(maskedUserinfo('http://u%20x:secret@h/')).toBe('u%20x:***@');
      expect(maskedUserinfo('http://u@h/')).toBe('u@');
      expect(maskedUserinfo('http://u:@h/')).toBe('u@');
      expect(maskedUserinfo('http://:p@h/')).toBe(':***@');
      expect(maskedUserinfo('http://h/a@b')).toBe('');
    });
  });

  describe('basicAuthorization', () => {
    it('encodes user:password in base64 as UTF-8', () => {
      expect(basicAuthorization({ username: 'peer', password: 'x' })).toBe(`Basic ${Buffer.from('peer:x').toString('base64')}`);
      expect(basicAuthorization({ username: 'ü', password: '' })).toBe(`Basic ${Buffer.from('ü:', 'utf8').toString('base64')}`);
    });
  });
});
