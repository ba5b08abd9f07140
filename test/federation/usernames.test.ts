import { describe, expect, it } from '@jest/globals';
import { username } from '../../src/accounts/schemas.js';
import { usernameBaseOf } from '../../src/federation/usernames.js';

describe('the username of a new federated account', () => {
  it.each([
    ['preferred_username first', { sub: 's1', preferred_username: 'alice', email: 'a@x.example' }, 'alice'],
    ['an address as preferred_username (Entra ID) gives its local part', { sub: 's2', preferred_username: 'alice@corp.example' }, 'alice'],
    ['else the email\'s local part', { sub: 's3', email: 'carol.smith@corp.example' }, 'carol.smith'],
    ['accents dropped, other characters dashed', { sub: 's4', preferred_username: 'José María' }, 'Jose-Maria'],
    ['else the subject', { sub: 'abcdef', preferred_username: '李' }, 'abcdef'],
    ['nothing of 3 usable characters: "user"', { sub: 's5', preferred_username: '李', email: 'li@corp.example' }, 'user'],
    ['a claim that is not text is skipped', { sub: 'sub-7', preferred_username: 42 }, 'sub-7'],
    ['cut to 56 characters', { sub: 'x'.repeat(200) }, 'x'.repeat(56)],
  ])('%s', (_what, claims, expected) => {
    const base = usernameBaseOf(claims);
    expect(base).toBe(expected);
    expect(username.safeParse(`${base}-50`).success).toBe(true); // a suffix always fits
  });
});
