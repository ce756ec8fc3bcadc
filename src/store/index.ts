// Storage: the async Store interface and its adapters. Only this folder contains SQL.
export {
  MAX_GROUP_ROWS,
  SCOPES,
  StoreError,
  StoreInputError,
  type App,
  type ApiKeyRecord,
  type NewApiKey,
  type Scope,
  type Store,
  type StoredSession,
  type WriteBatchStats,
} from './types.ts';
export type {
  InstanceBus,
  InstanceMessage,
  JobClaim,
  JobClaimRequest,
  OpenPlayGroup,
  SessionListItem,
  SessionListPage,
  SessionListQuery,
} from './types.ts';
export {
  ROLES,
  type AccountStore,
  type AuditEntry,
  type AuthSession,
  type NewAuditEntry,
  type NewUser,
  type RefreshTokenState,
  type Role,
  type SetupOutcome,
  type User,
  type UserPatch,
  type UserWithHash,
} from './account-types.ts';
export { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.ts';
export type { MigrationReport } from './migration-files.ts';
export { openStore, pendingMigrations, storeLocation, type OpenedStore, type StoreConfig } from './open-store.ts';
export {
  copySqliteToPostgres,
  openMedia3WatchSource,
  type CopyProgress,
  type CopyReport,
  type CopyToPostgresOptions,
  type Media3WatchRow,
  type Media3WatchSource,
  type TableCount,
} from './move-data.ts';
export { acquireInstanceLock, lockHolder, type InstanceLock } from './instance-lock.ts';
export { databaseFiles, ensurePrivateDir, looseModes, PRIVATE_DIR_MODE } from './private-files.ts';
export { integrityProblem, restoreSqliteBackup, type RestoreReport } from './sqlite/restore.ts';
export type {
  AnalyticsStore,
  MomentQuery,
  MomentWatchQuery,
  MomentWatchRows,
  PlayEventOutcome,
  PlaySessionFacts,
  QoeRollupRow,
  QoeWeightedBitrate,
  RetentionCounts,
  RetentionCutoffs,
  RollupStep,
  StoredMoment,
  StoredPlaySession,
  StreamFigures,
  StreamRollupRow,
} from './types.ts';
export { QOE_DIMENSIONS, type QoeDimension } from './sqlite/qoe-rollup-writer.ts';
export type {
  JobOutcome,
  NewRendition,
  NewVideo,
  ProbedSource,
  RenditionRecord,
  RenditionStatus,
  VideoJob,
  VideoJobKind,
  VideoJobStatus,
  VideoListQuery,
  VideoRecord,
  VideoStatus,
  VideoStore,
} from './video-types.ts';
export type {
  ChatRecord,
  MemberKind,
  NewRoom,
  PlaybackState,
  RoomMemberRecord,
  RoomMinuteRecord,
  EmoteCount,
  RoomPatch,
  RoomRecord,
  RoomStore,
} from './room-types.ts';
export {
  ALERT_METRICS,
  CHANNEL_TYPES,
  type AlertEventRecord,
  type AlertMetric,
  type AlertRuleRecord,
  type AlertRuleSettings,
  type AlertState,
  type AlertStore,
  type AlertTransition,
  type ChannelRecord,
  type ChannelType,
  type DeliveryAttempt,
  type NewAlertRule,
  type NewChannel,
  type NewNotification,
  type OutboxRecord,
  type OutboxStatus,
} from './alert-types.ts';
export { grafanaPanelSql, type GrafanaPanelSql } from './postgres/grafana-queries.ts';
