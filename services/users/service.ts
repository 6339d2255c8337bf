// UsersService handlers: proto in, domain call, proto out. Access levels (public, user, admin)
// are enforced by the platform from the contract before a handler runs; per-user handlers act
// on the caller's own id from the verified token, never on an id from the request.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Address } from "../../gen/shop/common/v1/address_pb.js";
import { UsersService, type AuthTokensSchema, type SavedAddressSchema, type UserSchema } from "../../gen/shop/users/v1/users_pb.js";
import { requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import type { AddressBook, AddressInput } from "./address-book.js";
import type { Accounts } from "./accounts.js";
import type { KeyStore } from "./key-store.js";
import type { Sessions, Tokens } from "./sessions.js";
import type { AddressRecord, UserRecord } from "./store.js";

export interface UsersServiceDeps {
  readonly sessions: Sessions;
  readonly accounts: Accounts;
  readonly addressBook: AddressBook;
  readonly keys: KeyStore;
}

const userProto = (u: UserRecord): MessageInitShape<typeof UserSchema> => ({
  id: u.id,
  email: u.email,
  displayName: u.displayName,
  roles: [...u.roles],
  createTime: timestampFromDate(u.createdAt),
  updateTime: timestampFromDate(u.updatedAt),
});

const tokensProto = (t: Tokens): MessageInitShape<typeof AuthTokensSchema> => ({
  accessToken: t.accessToken,
  accessTokenExpireTime: timestampFromDate(t.accessTokenExpiresAt),
  refreshToken: t.refreshToken,
  refreshTokenExpireTime: timestampFromDate(t.refreshTokenExpiresAt),
});

const addressProto = (a: AddressRecord): MessageInitShape<typeof SavedAddressSchema> => ({
  id: a.id,
  label: a.label,
  address: { ...a.address },
  isDefault: a.isDefault,
});

/** The request's address; `required` in the contract, so validation has already ensured it is set. */
function addressInput(req: { label: string; address?: Address | undefined; isDefault: boolean }): AddressInput {
  const a = req.address!;
  return {
    label: req.label,
    isDefault: req.isDefault,
    address: {
      recipientName: a.recipientName,
      line1: a.line1,
      line2: a.line2,
      city: a.city,
      region: a.region,
      postalCode: a.postalCode,
      countryCode: a.countryCode,
      phone: a.phone,
    },
  };
}

/** The end client's address as the gateway reports it, for the per-address sign-in limit. */
function clientAddress(ctx: CallContext): string | undefined {
  const raw = ctx.metadata.get("x-client-ip")[0];
  const value = typeof raw === "string" ? raw.trim() : undefined;
  // An address, not a payload: anything longer is not something the gateway sent.
  return value && value.length <= 64 ? value : undefined;
}

const me = (ctx: CallContext) => requireCaller(ctx).subject;

export function createUsersService({ sessions, accounts, addressBook, keys }: UsersServiceDeps): ServiceImpl<typeof UsersService> {
  return {
    async register(req) {
      const { user, tokens } = await sessions.register(req);
      return { user: userProto(user), tokens: tokensProto(tokens) };
    },
    async login(req, ctx) {
      const { user, tokens } = await sessions.login(req, clientAddress(ctx));
      return { user: userProto(user), tokens: tokensProto(tokens) };
    },
    async refreshToken(req) {
      return { tokens: tokensProto(await sessions.refresh(req.refreshToken)) };
    },
    async logout(req, ctx) {
      await sessions.logout(me(ctx), req.refreshToken);
      return {};
    },
    async changePassword(req, ctx) {
      await sessions.changePassword(me(ctx), req, clientAddress(ctx));
      return {};
    },

    async getProfile(_req, ctx) {
      return { user: userProto(await accounts.profile(me(ctx))) };
    },
    async updateProfile(req, ctx) {
      return { user: userProto(await accounts.rename(me(ctx), req.displayName)) };
    },

    async listAddresses(req, ctx) {
      const page = await addressBook.list(me(ctx), req);
      return { addresses: page.addresses.map(addressProto), nextPageToken: page.nextPageToken };
    },
    async addAddress(req, ctx) {
      return { address: addressProto(await addressBook.add(me(ctx), addressInput(req))) };
    },
    async updateAddress(req, ctx) {
      return { address: addressProto(await addressBook.update(me(ctx), req.addressId, addressInput(req))) };
    },
    async deleteAddress(req, ctx) {
      await addressBook.remove(me(ctx), req.addressId);
      return {};
    },

    async getJwks() {
      // Member by member: only public members can ever leave, whatever the stored JWK holds.
      return { keys: keys.publicJwks().map((k) => ({ kty: k.kty, crv: k.crv, x: k.x, y: k.y, kid: k.kid, alg: k.alg, use: k.use })) };
    },

    async getUser(req) {
      return { user: userProto(await accounts.user(req.userId)) };
    },
    async listUsers(req) {
      const page = await accounts.list(req);
      return { users: page.users.map(userProto), nextPageToken: page.nextPageToken };
    },
    async setUserRoles(req, ctx) {
      return { user: userProto(await accounts.setRoles(me(ctx), req.userId, req.roles)) };
    },
  };
}
