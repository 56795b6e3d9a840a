import { truncate } from './text.js';

/**
 * Why `name` (lower case, no trailing dot) is not a valid DNS host name;
 * undefined when it is. Letters, digits and '-' only (no wildcards, no
 * underscores), labels of 1..63 characters not starting or ending with '-',
 * at most 253 characters in all.
 */
export function checkDnsName(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.length > 253) return `it is ${name.length} characters long (at most 253)`;
  for (const label of name.split('.')) {
    if (label === '') return 'it has an empty label (a leading dot or two dots in a row)';
    if (label.includes('*')) return 'wildcard labels (*) are not allowed';
    if (label.length > 63) return `label "${truncate(label, 20)}" is ${label.length} characters long (at most 63)`;
    if (!/^[a-z0-9-]+$/.test(label)) return `label "${truncate(label, 40)}" may only hold letters, digits and '-'`;
    if (label.startsWith('-') || label.endsWith('-')) return `label "${truncate(label, 40)}" must not start or end with '-'`;
  }
  return undefined;
}
