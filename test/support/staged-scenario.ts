/**
 * A scenario in stages that build on each other, for test files whose tests each look at one stage. `reach(n)`
 * plays stages 1..n in order, each once per file: a stage already played (or being played) is awaited, not
 * repeated. Each test reaches its own stage first, so it passes the same alone (`vitest run -t "<name>"`) as after
 * the tests before it; a stage that failed fails every test that needs it, with its own error.
 */
export function stagedScenario(stages: ReadonlyArray<() => Promise<void>>): (n: number) => Promise<void> {
  const played: Array<Promise<void>> = [];
  const reach = (n: number): Promise<void> => {
    if (n < 1 || n > stages.length) throw new RangeError(`no stage ${n} (1..${stages.length})`);
    const i = n - 1;
    played[i] ??= (n === 1 ? Promise.resolve() : reach(n - 1)).then(() => stages[i]?.());
    return played[i];
  };
  return reach;
}
