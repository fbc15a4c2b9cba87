import { vi } from 'vitest';

/**
 * Runs `act` and returns every non-empty line it wrote to stdout or stderr (Powertools writes INFO and below to
 * stdout, WARN and above to stderr; EMF metric documents go to stdout). Nothing reaches the terminal meanwhile.
 */
export async function captureOutput(act: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  try {
    await act();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}
