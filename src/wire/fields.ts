// Field builders for the wire schemas. Each field says in words what a client must send ('x-expected'); that text
// is the 400 message naming the field. Secrets are writeOnly, so no message ever echoes them back.
import Type, { type TSchema } from 'typebox';

// Not blank (trim() would leave something) and no control characters: names shown in lists and the audit log.
const PRINTABLE = '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001f\\u007f]*$';

/** A person-given name: 1 to `max` characters, not blank, without control characters. */
export const label = (max: number, description: string) =>
  Type.String({
    minLength: 1,
    maxLength: max,
    pattern: PRINTABLE,
    description,
    'x-expected': `1 to ${max} characters without control characters`,
  });

/** A secret the client sends and is never shown again (passwords, tokens). */
export const secret = (expected: string, options: { minLength?: number; maxLength?: number; description: string }) =>
  Type.String({ ...options, writeOnly: true, 'x-expected': expected });

/** `schema`, or null meaning the same as leaving the field out. */
export const orNull = <T extends TSchema>(schema: T, expected: string, description: string) =>
  Type.Union([schema, Type.Null()], { 'x-expected': expected, description });

/** A CSV answer (RFC 4180, a header row first): a text cell that a spreadsheet would run as a formula gets a leading apostrophe. */
export const CsvText = Type.String({ description: 'RFC 4180, header row first' });

/** Epoch milliseconds. */
export const epochMs = (description: string) => Type.Integer({ description: `${description}, epoch ms` });

/** Epoch milliseconds, or null when it has not happened. */
export const epochMsOrNull = (description: string) =>
  Type.Union([Type.Integer(), Type.Null()], { description: `${description}, epoch ms; null if never` });
