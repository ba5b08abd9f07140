import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { text } from '../http/validate.js';

export const username = z.string()
  .min(3, 'must be at least 3 characters').max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"');
export const password = text(10, 256).describe('10 to 256 characters');
export const email = z.email({ message: 'must be an email address' }).max(254);

export const registerBody = z.strictObject({ username, password, email: email.optional() });

// Login checks only the shape: the rules of registration would tell which usernames cannot exist.
export const loginBody = z.strictObject({ username: text(1, 256), password: text(1, 1024) });

export const accountStatus = z.enum(['active', 'pending', 'rejected', 'banned']);
export const developerListQuery = pageQuery.extend({ status: accountStatus.optional() });
