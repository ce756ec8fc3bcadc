// Wire formats of user administration: a user as admins see them, and the bodies that create and change one.
import Type from 'typebox';
import { password, RoleSchema } from './accounts.ts';
import { epochMs, orNull } from './fields.ts';

export const UserRecord = Type.Object(
  {
    id: Type.Integer(),
    email: Type.String(),
    role: RoleSchema,
    disabled: Type.Boolean({ description: 'a disabled user cannot sign in' }),
    createdAt: epochMs('When the user was created'),
    apps: Type.Array(Type.String(), { description: 'apps granted (members); admins see every app' }),
  },
  { $id: 'UserRecord' },
);
export type UserRecord = Type.Static<typeof UserRecord>;

export const UserList = Type.Object({ users: Type.Array(UserRecord) }, { $id: 'UserList' });
export type UserList = Type.Static<typeof UserList>;

export const NewUserBody = Type.Object(
  {
    email: Type.String({ description: 'Email address', 'x-expected': 'an address like name@example.com' }),
    password: password('Their first password; never returned'),
    role: Type.Optional(orNull(RoleSchema, '"admin" or "member"', 'Defaults to member')),
  },
  { $id: 'NewUserBody' },
);
export type NewUserBody = Type.Static<typeof NewUserBody>;

/** Any subset: a new role, disabled or enabled, a new password. Disabling or a new password ends their logins. */
export const UserPatchBody = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean({ 'x-expected': 'true or false' })),
    password: Type.Optional(password('A new password')),
  },
  { $id: 'UserPatchBody' },
);
export type UserPatchBody = Type.Static<typeof UserPatchBody>;
