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

/** One emote (an emoji or a `:shortcode:`) and how often it was used. */
export interface EmoteCount {
  emote: string;
  count: number;
}

/** A room's figures for one minute: the chat half of the stream metrics. */
export interface RoomMinuteRecord {
  roomId: string;
  appId: string;
  /** Epoch ms, a multiple of 60000. */
  minute: number;
  /** Most members connected at once. */
  viewers: number;
  messages: number;
  uniqueChatters: number;
  /** Most used first, at most 5. */
  topEmotes: EmoteCount[];
  /** Mean sentiment of the minute's scored messages; null when none were scored. */
  sentiment: number | null;
  /** How many messages the sentiment is the mean of. */
  sentimentN: number;
}

export interface RoomStore {
  createRoom(r: NewRoom): Promise<RoomRecord>;
  getRoom(id: string): Promise<RoomRecord | null>;
  /** An app's rooms, newest first. */
  listRooms(appId: string, limit: number): Promise<RoomRecord[]>;
  updateRoom(id: string, patch: RoomPatch, now: number): Promise<RoomRecord | null>;
  /**
   * Makes `host` the room's host only if its stored host is still `previous` (null: none). False when another
   * instance changed the host first: of members joining at once on several instances, the database picks one.
   */
  claimRoomHost(
    id: string,
    host: Pick<RoomRecord, 'hostMemberId' | 'hostUserId'>,
    previous: string | null,
    now: number,
  ): Promise<boolean>;
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
  /**
   * Stores a room's minute; a row for the same minute already there (written before a restart in that minute) is
   * merged: messages and emotes added, viewers and unique chatters the larger, sentiment weighted by messages.
   */
  addRoomMinute(m: RoomMinuteRecord): Promise<void>;
  /** A room's minutes in [from, to), oldest first. */
  roomMinutes(roomId: string, from: number, to: number): Promise<RoomMinuteRecord[]>;
  /** Rooms with figures in [from, to) (for the moments engine). */
  roomsWithMinutes(from: number, to: number): Promise<Array<{ roomId: string; appId: string }>>;
}
