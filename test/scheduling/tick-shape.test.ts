import { holdTickShape } from '../../src/scheduling/tick-shape';

const until = async (cond: () => boolean, deadlineMs = 5_000): Promise<void> => {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const isTickObject = (o: object | undefined): boolean =>
  o !== undefined &&
  typeof (o as { callback?: unknown }).callback === 'function' &&
  Object.getOwnPropertySymbols(o).some((s) => s.description === 'async_id_symbol');

describe('holdTickShape', () => {
  it('holds one of Node\'s tick objects from the first tick on', async () => {
    const hold = holdTickShape(60_000);
    try {
      expect(hold.held()).toBeUndefined();
      await until(() => hold.held() !== undefined);
      expect(isTickObject(hold.held())).toBe(true);
    } finally {
      hold.stop();
    }
  });

  it('replaces it with a fresh one every period, and lets it go when stopped', async () => {
    const hold = holdTickShape(10);
    try {
      await until(() => hold.held() !== undefined);
      const first = hold.held();
      await until(() => hold.held() !== first);
      expect(isTickObject(hold.held())).toBe(true);
    } finally {
      hold.stop();
    }
    expect(hold.held()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 30));
    expect(hold.held()).toBeUndefined();
  });
});

describe('a composed server', () => {
  it('holds a tick object while it runs and lets it go when closed', async () => {
    const tickShape = await import('../../src/scheduling/tick-shape');
    const spy = jest.spyOn(tickShape, 'holdTickShape');
    const { compose } = await import('../../src/server');
    const { defaultSettings } = await import('../../src/config/settings');
    const { silentLogger } = await import('../../src/observability/logger');
    try {
      const server = compose({ settings: defaultSettings(), peerSet: { self: undefined, peers: [] } }, { logger: silentLogger });
      expect(spy).toHaveBeenCalledTimes(1);
      const hold = spy.mock.results[0].value as ReturnType<typeof holdTickShape>;
      await until(() => hold.held() !== undefined);
      await server.close();
      expect(hold.held()).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});
