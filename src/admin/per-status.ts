/**
 * Metric children cached per status code: a metric's labels() builds a key
 * on every call, and the hot path counts every response.
 */
export class PerStatus<C> {
  private readonly byCode = new Map<number, C>();

  constructor(private readonly make: (status: string) => C) {}

  of(status: number): C {
    let c = this.byCode.get(status);
    if (c === undefined) this.byCode.set(status, (c = this.make(String(status))));
    return c;
  }
}
