// The public surface of platform/grpc: how every service serves and calls gRPC.
export { createGrpcServer, type GrpcServer, type GrpcServerOptions, type ServiceImpl, type UnaryImpl, type ServerStreamingImpl } from "./server.js";
export { createClient, type ClientOptions, type CallOptions, type ServiceClient, type ClientControl } from "./client.js";
export {
  currentCall,
  remainingMs,
  requireCaller,
  requireRole,
  type Authenticate,
  type CallContext,
  type Caller,
} from "./call-context.js";
export type { ReadinessCheck } from "./readiness.js";
export type { BreakerOptions, BreakerState, RetryOptions } from "./client-policies.js";
export type { ClientTlsOptions, ServerTlsOptions } from "./credentials.js";
export { grpcMethodDefinition, grpcServiceDefinition, methodPath } from "./service-definition.js";
export { Access, ADMIN_ROLE, accessDenial, accessOf, isClientFacing } from "./access.js";
