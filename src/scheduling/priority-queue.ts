/**
 * A binary min-heap keyed by a number with an index by id, so an item can be rescheduled or removed
 * in O(log n). Used to keep one timer for all grants.
 * @module
 */

interface Slot<T> {
  id: string;
  at: number;
  value: T;
  /** Index in the heap, kept on the slot so a swap does not touch the id index. */
  position: number;
}

/**
 * @example
 * ```ts
 * const queue = new PriorityQueue<string>();
 * queue.upsert('user-1', 1_000, 'user-1');
 * queue.peek()?.at; // 1000
 * ```
 */
export class PriorityQueue<T> {
  readonly #heap: Array<Slot<T>> = [];
  readonly #index = new Map<string, Slot<T>>();

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest item, without removing it. */
  peek(): Readonly<Omit<Slot<T>, 'position'>> | undefined {
    return this.#heap[0];
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  /** Adds an item or moves an existing one to `at`. O(log n). */
  upsert(id: string, at: number, value: T): void {
    const slot = this.#index.get(id);
    if (slot === undefined) {
      const added: Slot<T> = { id, at, value, position: this.#heap.length };
      this.#heap.push(added);
      this.#index.set(id, added);
      this.#up(added.position);
      return;
    }
    const earlier = at < slot.at;
    slot.at = at;
    slot.value = value;
    if (earlier) this.#up(slot.position);
    else this.#down(slot.position);
  }

  /** Removes and returns the earliest item. O(log n). */
  pop(): Omit<Slot<T>, 'position'> | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.#removeAt(0);
    return top;
  }

  /** Removes an item by id. O(log n). */
  delete(id: string): boolean {
    const slot = this.#index.get(id);
    if (slot === undefined) return false;
    this.#removeAt(slot.position);
    return true;
  }

  #removeAt(position: number): void {
    const removed = this.#heap[position]!;
    const last = this.#heap.pop()!;
    this.#index.delete(removed.id);
    if (position === this.#heap.length) return;
    this.#heap[position] = last;
    last.position = position;
    this.#up(position);
    this.#down(last.position);
  }

  #up(position: number): void {
    const heap = this.#heap;
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (heap[parent]!.at <= heap[position]!.at) return;
      this.#swap(position, parent);
      position = parent;
    }
  }

  #down(position: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = 2 * position + 1;
      const right = left + 1;
      let smallest = position;
      if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
      if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
      if (smallest === position) return;
      this.#swap(position, smallest);
      position = smallest;
    }
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const slotA = heap[a]!;
    const slotB = heap[b]!;
    heap[a] = slotB;
    heap[b] = slotA;
    slotB.position = a;
    slotA.position = b;
  }
}
