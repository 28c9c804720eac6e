// A min-heap of items by due time (ms): the health checks' queue of instances waiting for their next probe.

/** Something with a due time. */
export interface Due {
  readonly dueAt: number;
}

/** Items ordered by dueAt, earliest first; push and pop are O(log n). */
export class DueQueue<T extends Due> {
  private readonly heap: T[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** The earliest item, without removing it. */
  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].dueAt <= item.dueAt) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right].dueAt < heap[left].dueAt ? right : left;
      if (heap[child].dueAt >= last.dueAt) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
