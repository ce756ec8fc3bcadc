// The watch-party part of the Store contract: rooms with their playback state, members and chat. Adapters expose
// it as `store.rooms`. Every row carries its app; callers scope reads by it.

export interface PlaybackState {
  /** Seconds into the video at `at`. */
  position: number;
  paused: boolean;
  rate: number;
  /** Server epoch ms the position refers to (a play command's apply time). */
  at: number;
  seq: number;
}

export interface RoomRecord {
  id: string;
  appId: string;
  name: string;
  videoId: string | null;
  ownerUserId: number;
  hostMemberId: string | null;
  hostUserId: number | null;
  locked: boolean;
  chatEnabled: boolean;
  /** null: automatic (on for rooms of up to 5 members). */
  waitForBuffering: boolean | null;
  state: PlaybackState;
  createdAt: number;
  updatedAt: number;
}

export interface NewRoom {
  id: string;
  appId: string;
  name: string;
  videoId: string;
  ownerUserId: number;
  locked: boolean;
  createdAt: number;
}

export type RoomPatch = Partial<
  Pick<RoomRecord, 'name' | 'videoId' | 'locked' | 'chatEnabled' | 'waitForBuffering' | 'hostMemberId' | 'hostUserId'>
> & { state?: PlaybackState };

export type MemberKind = 'admin' | 'member' | 'guest';

export interface RoomMemberRecord {
  roomId: string;
  appId: string;
  id: string;
  /** "u:<userId>" or "g:<guest token hash>". */
  identity: string;
  userId: number | null;
  name: string;
  kind: MemberKind;
  joinedAt: number;
  lastSeenAt: number;
  kicked: boolean;
}

export interface ChatRecord {
  id: number;
  roomId: string;
  memberId: string;
  name: string;
  text: string;
  videoPosition: number;
  at: number;
}

export interface RoomStore {
  createRoom(r: NewRoom): Promise<RoomRecord>;
  getRoom(id: string): Promise<RoomRecord | null>;
  /** An app's rooms, newest first. */
  listRooms(appId: string, limit: number): Promise<RoomRecord[]>;
  updateRoom(id: string, patch: RoomPatch, now: number): Promise<RoomRecord | null>;
  /** Deletes the room with its members and chat. */
  deleteRoom(id: string): Promise<boolean>;
  listRoomMembers(roomId: string): Promise<RoomMemberRecord[]>;
  /** Inserts or updates a member (by room and id). */
  saveRoomMember(m: RoomMemberRecord): Promise<void>;
  deleteRoomMember(roomId: string, memberId: string): Promise<void>;
  addChat(c: Omit<ChatRecord, 'id'> & { appId: string }): Promise<ChatRecord>;
  /** The last `limit` messages not deleted, oldest first. */
  recentChat(roomId: string, limit: number): Promise<ChatRecord[]>;
  deleteChat(roomId: string, messageId: number): Promise<boolean>;
}
