// Instances by VIP and secure VIP name, kept up to date on every registration and removal so a VIP read costs the
// instances it returns, not a scan of the registry. Answers in registry order: apps in the order they appeared,
// then instances in the order they first registered (re-registering keeps an instance's place).

/** Which address field a name is looked up in. */
export type VipKind = 'vip' | 'svip';

interface Group {
  readonly order: number;
  size: number;
}

interface Member<T> {
  value: T;
  readonly group: Group;
  readonly order: number;
  vips: string | undefined;
  svips: string | undefined;
}

/** Values (leases) indexed by each comma-separated entry of their vipAddress and secureVipAddress. */
export class VipIndex<T> {
  private readonly groups = new Map<string, Group>();
  private readonly members = new Map<string, Map<string, Member<T>>>();
  private readonly byVip = new Map<string, Set<Member<T>>>();
  private readonly bySvip = new Map<string, Set<Member<T>>>();
  private next = 0;

  /**
   * Indexes (or re-indexes) instance `id` of `app` under its address fields. An instance already present keeps its
   * place; a new one goes after every other of its app, and a new app after every other app.
   */
  put(app: string, id: string, value: T, vipAddress: string | undefined, secureVipAddress: string | undefined): void {
    let group = this.groups.get(app);
    let members = this.members.get(app);
    if (!group || !members) {
      group = { order: this.next++, size: 0 };
      members = new Map();
      this.groups.set(app, group);
      this.members.set(app, members);
    }
    let member = members.get(id);
    if (member && member.vips === vipAddress && member.svips === secureVipAddress) {
      // A re-registration under the same names (nearly all of them): the sets hold the member, not its value.
      member.value = value;
      return;
    }
    if (member) {
      this.unlink(member);
      member.value = value;
      member.vips = vipAddress;
      member.svips = secureVipAddress;
    } else {
      member = { value, group, order: this.next++, vips: vipAddress, svips: secureVipAddress };
      members.set(id, member);
      group.size++;
    }
    link(this.byVip, member, vipAddress);
    link(this.bySvip, member, secureVipAddress);
  }

  /** Forgets instance `id` of `app`; an app left without instances loses its place. */
  delete(app: string, id: string): void {
    const members = this.members.get(app);
    const member = members?.get(id);
    if (!members || !member) return;
    this.unlink(member);
    members.delete(id);
    if (--member.group.size === 0) {
      this.groups.delete(app);
      this.members.delete(app);
    }
  }

  /** The values listed under `name` (exact, case-sensitive entry match), in registry order. */
  lookup(kind: VipKind, name: string): T[] {
    const set = (kind === 'vip' ? this.byVip : this.bySvip).get(name);
    if (!set) return [];
    return Array.from(set)
      .sort((a, b) => a.group.order - b.group.order || a.order - b.order)
      .map((m) => m.value);
  }

  /** Number of distinct names indexed, VIP and secure VIP together. */
  get names(): number {
    return this.byVip.size + this.bySvip.size;
  }

  private unlink(member: Member<T>): void {
    unlink(this.byVip, member, member.vips);
    unlink(this.bySvip, member, member.svips);
  }
}

// Each entry as is, untrimmed: Eureka matches the raw split, so " b" is not "b". A repeated entry links once.
function link<T>(index: Map<string, Set<Member<T>>>, member: Member<T>, names: string | undefined): void {
  if (names === undefined) return;
  // Nearly every instance names one VIP: no list to split.
  if (!names.includes(',')) return linkOne(index, member, names);
  for (const name of names.split(',')) linkOne(index, member, name);
}

function linkOne<T>(index: Map<string, Set<Member<T>>>, member: Member<T>, name: string): void {
  const set = index.get(name);
  if (set) set.add(member);
  else index.set(name, new Set([member]));
}

function unlink<T>(index: Map<string, Set<Member<T>>>, member: Member<T>, names: string | undefined): void {
  if (names === undefined) return;
  if (!names.includes(',')) return unlinkOne(index, member, names);
  for (const name of names.split(',')) unlinkOne(index, member, name);
}

function unlinkOne<T>(index: Map<string, Set<Member<T>>>, member: Member<T>, name: string): void {
  const set = index.get(name);
  if (set?.delete(member) && set.size === 0) index.delete(name);
}
