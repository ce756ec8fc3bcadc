// The watch-party room page (/rooms/<id>, guests with /rooms/<id>#<invite token>): the room's video kept in step
// with the others over /ws/rooms/<id> — commands applied at their server time (clock from ping/pong), drift
// corrected by tiers (under 100 ms nothing; to 2 s the playback rate, at most ±10 %, until within 50 ms; beyond,
// a seek that allows for this browser's own start-up delay) — members with RTT and drift, chat linked to video
// positions, host controls and an invite button. Loaded on demand, so hls.js never weighs on the dashboard.
import Hls from 'hls.js/light';
import type {
  ApiError,
  ChatMessage,
  MemberPresence,
  MinuteFigures,
  RoomCommand,
  RoomInvite,
  RoomPlaybackGrant,
  RoomServerMessage,
  RoomStats,
  RoomView,
} from '../api.ts';
import { ClockEstimator } from '../clock-estimator.ts';
import { attach, type Reporter } from '../../sdk/m3w-web.ts';
import { h, replace } from '../dom.ts';
import './room.css';

// What this page sends: the client messages of the protocol (checked by the server's room-protocol.ts).
type Outgoing = { type: string } & Record<string, unknown>;
/** The shared timeline: `position` seconds into the video at server time `at`. */
type Timeline = Pick<RoomCommand, 'position' | 'paused' | 'rate' | 'at'>;
type Member = MemberPresence;

const positionAt = (s: Timeline, t: number) =>
  s.paused || t <= s.at ? s.position : s.position + ((t - s.at) / 1000) * s.rate;
const fmt = (sec: number) => {
  const s = Math.max(0, Math.floor(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
const csrf = () => decodeURIComponent(/(?:^|;\s*)m3w_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? '');

export async function roomPage(root: HTMLElement, roomId: string): Promise<void> {
  // A guest's invite arrives in the fragment (never sent to servers or logs); kept for reconnects and reloads.
  const fromHash = location.hash.slice(1);
  if (fromHash) sessionStorage.setItem(`m3w.room.${roomId}`, fromHash);
  const token = fromHash || sessionStorage.getItem(`m3w.room.${roomId}`) || null;
  if (fromHash) history.replaceState(null, '', location.pathname);
  document.title = 'Watch party · m3w';

  const video = h('video', { playsinline: true, preload: 'auto', id: 'room-video' }) as HTMLVideoElement;
  const status = h('p', { class: 'room-status', role: 'status' }, 'Connecting…');
  const title = h('h1', { class: 'room-title' }, 'Watch party');
  const playBtn = h('button', { type: 'button', id: 'room-play' }, 'Play');
  const seekInput = h('input', {
    type: 'number',
    id: 'room-seek-to',
    min: '0',
    step: '1',
    'aria-label': 'Go to second',
  });
  const seekBtn = h('button', { type: 'button', id: 'room-seek', class: 'secondary' }, 'Go');
  const clock = h('span', { class: 'room-clock', id: 'room-time' }, '0:00');
  const rateSel = h(
    'select',
    { 'aria-label': 'Speed', id: 'room-rate' },
    ['0.5', '0.75', '1', '1.25', '1.5', '2'].map((r) => h('option', { value: r, selected: r === '1' }, `${r}×`)),
  );
  const hostBox = h('div', { class: 'room-host-controls', hidden: true });
  // The host's view of the room's analytics: this minute and the last (from `stats`, host and admins only).
  const statsEl = h('dl', { class: 'room-stats', id: 'room-stats', hidden: true, 'aria-live': 'off' });
  const membersEl = h('ul', { class: 'room-members', id: 'room-members' });
  const chatList = h('ol', { class: 'room-chat', id: 'room-chat', 'aria-live': 'polite' });
  const chatInput = h('input', {
    type: 'text',
    maxlength: '500',
    'aria-label': 'Message',
    placeholder: 'Say something',
  });
  const chatForm = h('form', { class: 'room-chat-form' }, chatInput, h('button', { type: 'submit' }, 'Send'));
  const inviteBtn = h(
    'button',
    { type: 'button', class: 'secondary', id: 'room-invite', hidden: !!token },
    'Copy invite link',
  );
  replace(
    root,
    h(
      'div',
      { class: 'room' },
      h('header', { class: 'room-head' }, title, inviteBtn, token ? null : h('a', { href: '/overview' }, 'Dashboard')),
      h(
        'section',
        { class: 'room-stage' },
        video,
        h('div', { class: 'room-controls' }, playBtn, clock, seekInput, seekBtn, rateSel),
        status,
      ),
      h(
        'aside',
        { class: 'room-side' },
        h('h2', {}, 'Members'),
        hostBox,
        membersEl,
        statsEl,
        h('h2', {}, 'Chat'),
        chatList,
        chatForm,
      ),
    ),
  );

  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : { 'x-csrf-token': csrf() };
  const post = (path: string, body: unknown = {}) =>
    fetch(path, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      credentials: token ? 'omit' : 'same-origin',
      body: JSON.stringify(body),
    });

  inviteBtn.addEventListener('click', async () => {
    const res = await post(`/api/v1/rooms/${roomId}/invites`, { displayName: 'Guest' });
    const body = (await res.json()) as Partial<RoomInvite> & ApiError;
    if (!body.joinUrl) return void (status.textContent = body.error?.message ?? 'Could not create an invite');
    await navigator.clipboard?.writeText(body.joinUrl).catch(() => {});
    inviteBtn.dataset.url = body.joinUrl;
    inviteBtn.textContent = 'Invite link copied';
  });

  // ---- the player ----------------------------------------------------------------------------------------------
  let hls: Hls | null = null;
  let reporter: Reporter | null = null;
  let loadedVideo: string | null = null;
  async function loadVideo(videoId: string | null): Promise<void> {
    if (videoId === loadedVideo) return;
    loadedVideo = videoId;
    void reporter?.detach();
    hls?.destroy();
    hls = null;
    if (!videoId) return void (status.textContent = 'This room has no video.');
    const res = await post(`/api/v1/rooms/${roomId}/playback`);
    const answer = (await res.json()) as RoomPlaybackGrant & ApiError;
    if (!res.ok) return void (status.textContent = answer.error?.message ?? `Playback refused (${res.status})`);
    const grant: RoomPlaybackGrant = answer;
    if (Hls.isSupported()) {
      hls = new Hls({ enableWorker: false, capLevelToPlayerSize: true });
      hls.loadSource(grant.url);
      hls.attachMedia(video);
    } else video.src = grant.url;
    if (grant.qoe)
      reporter = attach(video, {
        endpoint: grant.qoe.endpoint,
        auth: { token: grant.qoe.token },
        contentId: videoId,
        hls,
        playerName: 'm3w-room',
        custom: { room: roomId },
      });
  }

  // ---- sync ----------------------------------------------------------------------------------------------------
  const estimator = new ClockEstimator();
  const serverNow = () => estimator.toServer(Date.now());
  let timeline: Timeline = { position: 0, paused: true, rate: 1, at: 0 };
  let me: { id: string; role: string } = { id: '', role: 'guest' };
  let room: Partial<RoomView> = {};
  let ws: WebSocket | null = null;
  /** Our own start-up delay after a seek (s), measured each time: a catch-up seek lands this far ahead. */
  let startupDelay = 0.3;
  let seekStartedAt = 0;
  const correcting = false;
  let stalledSince: number | null = null;
  let applyTimer: ReturnType<typeof setTimeout> | undefined;

  const send = (m: Outgoing) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
  const canControl = () => !room.locked || me.role === 'host' || me.role === 'admin';

  function seekTo(position: number): void {
    seekStartedAt = performance.now();
    video.currentTime = position;
  }
  video.addEventListener('seeked', () => {
    if (seekStartedAt) startupDelay = Math.min(2, Math.max(0.05, (performance.now() - seekStartedAt) / 1000 + 0.05));
    seekStartedAt = 0;
  });
  video.addEventListener('waiting', () => (stalledSince ??= Date.now()));
  video.addEventListener('playing', () => (stalledSince = null));

  /** The drift tiers, a few times a second. */
  function correct(): void {
    if (!loadedVideo || video.readyState < 1 || correcting) return;
    const now = serverNow();
    const expected = positionAt(timeline, now);
    if (timeline.paused || now < timeline.at) {
      if (!video.paused) video.pause();
      video.playbackRate = timeline.rate;
      if (Math.abs(video.currentTime - expected) > 0.05) seekTo(expected);
      return;
    }
    const drift = video.currentTime - expected;
    const abs = Math.abs(drift);
    if (abs > 2) {
      // Far off (a late join, a long stall): jump ahead of the room by our own start-up delay, then play.
      seekTo(expected + startupDelay * timeline.rate);
    } else if (abs > 0.1 || (video.playbackRate !== timeline.rate && abs > 0.05)) {
      // Nudge the rate (at most ±10 %) until within 50 ms: smoother than a seek.
      const nudge = Math.max(-0.1, Math.min(0.1, -drift / 2));
      video.playbackRate = timeline.rate * (1 + nudge);
    } else video.playbackRate = timeline.rate;
    if (video.paused) void video.play().catch(() => {});
  }
  setInterval(correct, 100);

  function apply(cmd: Timeline): void {
    timeline = { position: cmd.position, paused: cmd.paused, rate: cmd.rate, at: cmd.at };
    clearTimeout(applyTimer);
    const wait = estimator.toClient(cmd.at) - Date.now();
    // Play exactly when due: the 100 ms loop alone would start up to 100 ms late.
    if (!cmd.paused && wait > 0)
      applyTimer = setTimeout(() => {
        video.currentTime = cmd.position;
        video.playbackRate = cmd.rate;
        void video.play().catch(() => {});
      }, wait);
    correct();
    playBtn.textContent = cmd.paused ? 'Play' : 'Pause';
  }

  /** Where a member stands against the room: what the host needs to see at a glance. */
  function syncState(m: Member): { label: string; cls: string } {
    if (!m.connected) return { label: 'away', cls: 'away' };
    if (m.buffering) return { label: 'buffering', cls: 'buffering' };
    if (m.driftMs === null) return { label: '', cls: '' };
    const s = (Math.abs(m.driftMs) / 1000).toFixed(1);
    if (m.driftMs <= -500) return { label: `behind ${s} s`, cls: 'behind' };
    if (m.driftMs >= 500) return { label: `ahead ${s} s`, cls: 'behind' };
    return { label: 'in sync', cls: '' };
  }

  function drawMembers(members: Member[]): void {
    const mod = me.role === 'host' || me.role === 'admin';
    // The host sees who needs attention first: buffering, then furthest off; everyone else, the room's order.
    const rank = (m: Member) => (!m.connected ? -1 : m.buffering ? 1e9 : Math.abs(m.driftMs ?? 0));
    const shown = mod ? [...members].sort((a, b) => rank(b) - rank(a)) : members;
    replace(
      membersEl,
      shown.map((m) =>
        h(
          'li',
          { 'data-member': m.id, class: `${m.connected ? '' : 'away'} ${syncState(m).cls}`.trim() },
          h('span', { class: 'name' }, m.name, m.id === me.id ? ' (you)' : ''),
          h('span', { class: 'role' }, m.role),
          syncState(m).label ? h('span', { class: 'sync' }, syncState(m).label) : null,
          h(
            'span',
            { class: 'figures' },
            `RTT ${m.rttMs ?? '–'} ms · drift ${m.driftMs ?? '–'} ms`,
            m.buffering ? ' · buffering' : '',
          ),
          mod && m.id !== me.id
            ? [
                h(
                  'button',
                  { type: 'button', class: 'link', onclick: () => send({ type: 'host', memberId: m.id }) },
                  'Make host',
                ),
                h(
                  'button',
                  { type: 'button', class: 'link', onclick: () => send({ type: 'kick', memberId: m.id }) },
                  'Remove',
                ),
              ]
            : null,
        ),
      ),
    );
  }

  function drawHostControls(): void {
    const mod = me.role === 'host' || me.role === 'admin';
    hostBox.hidden = !mod;
    if (!mod) statsEl.hidden = true;
    if (!mod) return;
    const toggle = (label: string, on: boolean, type: string, field: string) =>
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          checked: on,
          onchange: (e: Event) => send({ type, [field]: (e.target as HTMLInputElement).checked }),
        }),
        ` ${label}`,
      );
    replace(
      hostBox,
      toggle('Only the host controls (lock)', !!room.locked, 'lock', 'locked'),
      toggle('Chat on', room.chatEnabled !== false, 'chat-enabled', 'enabled'),
      toggle('Wait for members who buffer', !!room.waitForBuffering, 'wait-for-buffering', 'enabled'),
    );
  }

  /** The room's chat figures for the host: this minute so far and the last complete one. */
  function drawStats(m: RoomStats): void {
    const mod = me.role === 'host' || me.role === 'admin';
    statsEl.hidden = !mod;
    if (!mod) return;
    const line = (f: MinuteFigures | null) => {
      if (!f) return 'nobody';
      const emotes = f.topEmotes
        .slice(0, 3)
        .map((e) => `${e.emote} ${e.count}`)
        .join(' ');
      const mood = f.sentiment === null ? '' : ` · mood ${f.sentiment > 0 ? '+' : ''}${f.sentiment.toFixed(1)}`;
      const messages = `${f.messages} message${f.messages === 1 ? '' : 's'}`;
      return `${f.viewers} watching · ${messages} · ${f.uniqueChatters} chatting${emotes ? ` · ${emotes}` : ''}${mood}`;
    };
    replace(
      statsEl,
      h('dt', {}, 'This minute'),
      h('dd', { id: 'room-stats-now' }, line(m.current)),
      h('dt', {}, 'Last minute'),
      h('dd', {}, line(m.previous)),
    );
  }

  function addChat(c: ChatMessage): void {
    const at = new Date(c.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const jump = h('button', { type: 'button', class: 'link', title: 'Go to this moment' }, fmt(c.videoPosition));
    jump.addEventListener('click', () => canControl() && send({ type: 'seek', position: c.videoPosition }));
    chatList.append(
      h('li', { 'data-chat': c.id }, h('time', {}, at), ' ', jump, ' ', h('b', {}, c.name), ': ', c.text),
    );
    chatList.scrollTop = chatList.scrollHeight;
  }

  function onMessage(m: RoomServerMessage): void {
    switch (m.type) {
      case 'welcome':
        me = { id: m.memberId, role: m.role };
        room = m.room;
        title.textContent = m.room.name;
        document.title = `${m.room.name} · m3w`;
        replace(chatList);
        for (const c of m.chat) addChat(c);
        drawMembers(m.members);
        drawHostControls();
        status.textContent = '';
        void loadVideo(m.room.videoId).then(() => apply(m.state));
        break;
      case 'command':
        apply(m);
        break;
      case 'room':
        room = m.room;
        title.textContent = m.room.name;
        drawHostControls();
        void loadVideo(m.room.videoId);
        break;
      case 'members': {
        const mine = m.members.find((x) => x.id === me.id);
        if (mine) me.role = mine.role;
        drawMembers(m.members);
        drawHostControls();
        break;
      }
      case 'chat':
        addChat(m);
        break;
      case 'stats':
        drawStats(m);
        break;
      case 'chat-deleted':
        chatList.querySelector(`[data-chat="${Number(m.messageId)}"]`)?.remove();
        break;
      case 'ping':
        send({ type: 'pong', serverTime: m.serverTime });
        break;
      case 'pong':
        estimator.add(m.clientTime, m.serverTime, Date.now());
        break;
      case 'error':
        status.textContent = m.message;
        break;
      case 'bye':
        status.textContent = `Disconnected: ${m.reason}`;
        break;
    }
  }

  let pingTimer: ReturnType<typeof setTimeout> | undefined;
  const pingLoop = () => {
    send({ type: 'ping', clientTime: Date.now() });
    pingTimer = setTimeout(pingLoop, estimator.nextPingDelayMs());
  };
  setInterval(() => {
    if (!loadedVideo) return;
    const b = video.buffered;
    let ahead = 0;
    for (let i = 0; i < b.length; i++)
      if (b.start(i) <= video.currentTime && b.end(i) >= video.currentTime) ahead = b.end(i) - video.currentTime;
    send({
      type: 'state',
      position: video.currentTime,
      paused: video.paused,
      buffering: stalledSince !== null && !timeline.paused,
      bufferedAheadMs: Math.round(ahead * 1000),
      droppedFrames: video.getVideoPlaybackQuality?.().droppedVideoFrames ?? 0,
    });
  }, 1500);

  let attempts = 0;
  function connect(): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(
      `${proto}//${location.host}/ws/rooms/${roomId}${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    );
    ws.onopen = () => {
      attempts = 0;
      send({ type: 'hello', clientTime: Date.now() });
      clearTimeout(pingTimer);
      pingLoop();
    };
    ws.onmessage = (e) => onMessage(JSON.parse(String(e.data)) as RoomServerMessage);
    ws.onclose = (e) => {
      clearTimeout(pingTimer);
      // Refusals are final; anything else (a restart, a network blip) reconnects, keeping our place for 60 s.
      if ([4401, 4403, 4404, 4429].includes(e.code)) {
        status.textContent =
          e.code === 4401 && token
            ? 'This invite has expired or is not valid.'
            : e.code === 4401
              ? 'Sign in to join this room.'
              : e.reason || 'You cannot join this room.';
        return;
      }
      status.textContent = 'Reconnecting…';
      setTimeout(connect, Math.min(5000, 250 * 2 ** attempts++));
    };
  }
  connect();

  playBtn.addEventListener('click', () => {
    const now = serverNow();
    const pos = positionAt(timeline, now);
    send({ type: timeline.paused ? 'play' : 'pause', position: timeline.paused ? pos : video.currentTime || pos });
  });
  seekBtn.addEventListener('click', () => {
    const v = Number(seekInput.value);
    if (Number.isFinite(v) && v >= 0) send({ type: 'seek', position: v });
  });
  rateSel.addEventListener('change', () => send({ type: 'rate', rate: Number(rateSel.value) }));
  chatForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = chatInput.value.trim();
    if (text) send({ type: 'chat', text });
    chatInput.value = '';
  });
  setInterval(() => (clock.textContent = fmt(video.currentTime)), 250);
  window.addEventListener('pagehide', () => void reporter?.detach());
  void correcting;
}
