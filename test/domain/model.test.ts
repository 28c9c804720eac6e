// Pure rules on Eureka-shaped instances.
import { zoneOf } from '../../src/domain/model';

describe('model', () => {

  describe('zoneOf', () => {
    it('takes the metadata zone, else the Amazon availability zone, when the instance names them', () => {
      const amazon = { name: 'Amazon', className: '', metadata: { 'availability-zone': 'us-east-1b' } };
      expect(zoneOf({ metadata: { zone: 'z1' }, dataCenterInfo: amazon })).toBe('z1');
      expect(zoneOf({ metadata: {}, dataCenterInfo: amazon })).toBe('us-east-1b');
      expect(zoneOf({ metadata: {} })).toBeUndefined();
    });
  });
});
