// A clock tests move forward (reservations expire, carts age, tokens run out) while the rest
// of the world, PostgreSQL included, keeps real time.

/** Real time plus an offset the test moves forward. */
export interface TestClock {
  readonly now: () => Date;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms) => void (offset += ms) };
}
