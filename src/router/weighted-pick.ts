/**
 * A traffic split as a 100-slot table: percent p of a target fills p slots,
 * so a pick is one random index and one array read (no allocation, no loop).
 */
export class WeightedPick<T> {
  private slots: T[];
  /** The target when one takes all 100 % (no random draw needed). */
  private only: T | undefined;

  constructor(targets: readonly { readonly value: T; readonly percent: number }[]) {
    this.slots = [];
    for (const t of targets) for (let i = 0; i < t.percent; i++) this.slots.push(t.value);
    if (this.slots.length !== 100) throw new Error(`traffic percents add up to ${this.slots.length}, not 100`);
    this.only = this.slots.every((v) => v === this.slots[0]) ? this.slots[0] : undefined;
  }

  /** `random` returns [0, 1). */
  pick(random: () => number): T {
    return this.only ?? this.slots[(random() * 100) | 0]!;
  }
}
