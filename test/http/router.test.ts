import { BadPathError, Router } from '../../src/http/router';

const router = new Router<string>([
  { method: 'GET', pattern: '/apps', handler: 'full' },
  { method: 'GET', pattern: '/apps/delta', handler: 'delta' },
  { method: 'GET', pattern: '/apps/:app', handler: 'app' },
  { method: 'POST', pattern: '/apps/:app', handler: 'register' },
  { method: 'PUT', pattern: '/apps/:app/:id', handler: 'renew' },
]);

const handlerOf = (method: string, path: string): string | undefined => {
  const m = router.match(method, path);
  return m && 'route' in m ? m.route.handler : undefined;
};

describe('Router', () => {
  describe('match', () => {
    it.each(['/apps', '/apps/', 'apps', '//apps', '/apps//'])('matches %s as the full registry', (path) => {
      expect(handlerOf('GET', path)).toBe('full');
    });

    it('prefers a literal segment over a parameter', () => {
      expect(handlerOf('GET', '/apps/delta')).toBe('delta');
      expect(handlerOf('GET', '/apps/ORDERS')).toBe('app');
    });

    it('finds a route without parameters as the segment walk does, with no parameters', () => {
      for (const path of ['/apps/delta', '/apps/delta/', '//apps/delta', 'apps/delta']) {
        expect(router.match('GET', path)).toEqual({ route: expect.objectContaining({ handler: 'delta' }), params: {} });
      }
      // Another method on the same path is not that route.
      expect(router.match('POST', '/apps/delta')).toEqual({ route: expect.objectContaining({ handler: 'register' }), params: { app: 'delta' } });
    });

    it('reads parameters, percent-decoded, and ignores doubled slashes between segments', () => {
      expect(router.match('PUT', '/apps/ORDERS//10.0.0.7%3Aorders%3A8080/')).toEqual({ route: expect.objectContaining({ handler: 'renew' }), params: { app: 'ORDERS', id: '10.0.0.7:orders:8080' } });
    });

    it('tells a wrong method (405) from an unknown route (404)', () => {
      expect(router.match('DELETE', '/apps')).toEqual({ notAllowed: true });
      expect(router.match('GET', '/nope')).toBeUndefined();
      expect(router.match('GET', '/')).toBeUndefined();
      expect(router.match('GET', '')).toBeUndefined();
    });

    it('throws BadPathError for malformed percent-encoding', () => {
      expect(() => router.match('GET', '/apps/%E0%A4%A')).toThrow(BadPathError);
    });
  });
});
