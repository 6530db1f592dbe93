/** Diagnostics go to stderr; stdout carries only data (get) or requested output (--json). */
export function warn(message: string): void {
  process.stderr.write(`s3duct: ${message}\n`);
}
