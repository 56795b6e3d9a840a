/** `s` cut to at most `max` characters, an ellipsis marking the cut (for messages that quote input). */
export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
