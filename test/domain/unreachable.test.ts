// Exhaustive registry-event handling: a listener's switch that forgets an event kind must not compile. The
// `@ts-expect-error` below makes `npm run typecheck` fail if that ever stops being true.
import { RegistryEvent } from '../../src/domain/registry';
import { unreachable } from '../../src/domain/unreachable';

type Kind = RegistryEvent['type'];

const ALL_KINDS = ['registered', 'renewed', 'cancelled', 'evicted', 'status-updated', 'status-override-deleted', 'metadata-updated', 'health-changed'] as const satisfies readonly Kind[];

// Every kind is in ALL_KINDS: a new kind makes this line fail to compile until the list (and this proof) know it.
const everyKindListed: Exclude<Kind, (typeof ALL_KINDS)[number]> extends never ? true : false = true;

/** Handles every kind, as the listeners do: compiles. */
function handlesAll(e: RegistryEvent): string {
  switch (e.type) {
    case 'registered':
    case 'renewed':
    case 'cancelled':
    case 'evicted':
    case 'status-updated':
    case 'status-override-deleted':
    case 'metadata-updated':
    case 'health-changed':
      return e.type;
    default:
      return unreachable(e);
  }
}

/** Forgets 'metadata-updated': the call to unreachable does not compile. */
function forgetsOne(e: RegistryEvent): string {
  switch (e.type) {
    case 'registered':
    case 'renewed':
    case 'cancelled':
    case 'evicted':
    case 'status-updated':
    case 'status-override-deleted':
    case 'health-changed':
      return e.type;
    default:
      // @ts-expect-error: 'metadata-updated' is not handled, so `e` is not `never` here.
      return unreachable(e);
  }
}

/** The same proof for a handler map keyed by kind. */
const handlerMap: { [K in Kind]: (e: Extract<RegistryEvent, { type: K }>) => void } = {
  registered: () => undefined,
  renewed: () => undefined,
  cancelled: () => undefined,
  evicted: () => undefined,
  'status-updated': () => undefined,
  'status-override-deleted': () => undefined,
  'metadata-updated': () => undefined,
  'health-changed': () => undefined,
};

// @ts-expect-error: 'evicted' is missing from the map.
const incompleteMap: { [K in Kind]: () => void } = {
  registered: () => undefined,
  renewed: () => undefined,
  cancelled: () => undefined,
  'status-updated': () => undefined,
  'status-override-deleted': () => undefined,
  'metadata-updated': () => undefined,
  'health-changed': () => undefined,
};

const eventOf = (type: Kind): RegistryEvent => ({ type }) as unknown as RegistryEvent;

describe('unreachable', () => {
  describe('unreachable', () => {
    it('lets a switch that handles every registry event kind through', () => {
      expect(everyKindListed).toBe(true);
      expect(ALL_KINDS.map((kind) => handlesAll(eventOf(kind)))).toEqual([...ALL_KINDS]);
      expect(Object.keys(handlerMap).sort()).toEqual([...ALL_KINDS].sort());
    });

    it('throws naming the kind when a value the types ruled out arrives anyway', () => {
      expect(() => forgetsOne(eventOf('metadata-updated'))).toThrow('unreachable: unhandled metadata-updated');
      expect(() => unreachable('odd' as never)).toThrow('unreachable: unhandled odd');
      expect(Object.keys(incompleteMap)).not.toContain('evicted');
    });
  });
});
