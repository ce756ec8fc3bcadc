// Device class of a play session from its User-Agent: one ordered table of patterns, first match wins.
// Order carries meaning: TVs and set-top boxes run Android or WebKit too, so their markers are tried before
// the generic "Android" / "iPhone" / desktop ones; media servers relaying a stream come first of all.

export type DeviceClass = 'android' | 'ios' | 'tv' | 'stb' | 'streaming_server' | 'desktop' | 'other';

export const DEVICE_CLASSES: readonly DeviceClass[] = [
  'android',
  'ios',
  'tv',
  'stb',
  'streaming_server',
  'desktop',
  'other',
];

/** [pattern, class], tried in order. Patterns are case-insensitive unless a marker is only unambiguous in its case. */
const RULES: ReadonlyArray<readonly [RegExp, DeviceClass]> = [
  // Servers and libraries that pull a stream to re-publish or transcode it, not a person watching.
  [
    /\b(?:Lavf|Lavc|FFmpeg|ffprobe|GStreamer|libgst|Wowza|Flussonic|nginx|nimble|SRS\/|Red5|MistServer|Ant ?Media|Streamlink|curl\/|Wget\/)/i,
    'streaming_server',
  ],
  // Set-top boxes: IPTV middleware and Linux receivers.
  [
    /\b(?:MAG\d{3}|Infomir|stbapp|Enigma2|Dreambox|VU\+|Formuler|Zgemma|Amino|Aminet|Kreatv|Vbox|Ministra|Stalker|TVIP|Dune ?HD|BuzzTV|LibreELEC|CoreELEC|OSMC|Tvheadend|SmartIPTV|STB)/i,
    'stb',
  ],
  // Smart TVs, TV sticks and TV operating systems (before Android and Apple mobile markers).
  [
    /\b(?:SMART-?TV|SmartTV|Tizen|Web0S|webOS|NetCast|HbbTV|Roku|BRAVIA|VIDAA|Hisense|AFT[A-Z]{1,3}\b|Fire ?TV|Android ?TV|GoogleTV|Google TV|CrKey|Chromecast|AppleTV|Apple TV|tvOS|SHIELD|Philips ?TV|PhilipsTV|Vizio|Sonos|Xbox|PlayStation|PS4|PS5|Nintendo|MiBOX|MiTV|Opera TV|OMI\/|InettvBrowser|; TV\)|\bTV Build\b|Linux; U; Android [\d.]+; [^)]*\bTV\b)/i,
    'tv',
  ],
  // Apple mobile: Safari, apps using AVPlayer (AppleCoreMedia) and native players on iPhone/iPad.
  [
    /\b(?:iPhone|iPad|iPod|iOS|CFNetwork\/[\d.]+ Darwin\/[\d.]+(?!.*Macintosh)|AppleCoreMedia\/[\d.]+ \((?:iPhone|iPad|iPod))/i,
    'ios',
  ],
  // Android phones and tablets, and Android players that send no browser UA (ExoPlayer/Media3, stagefright, Dalvik).
  [/\b(?:Android|ExoPlayer|ExoPlayerLib|Media3|stagefright|Dalvik|okhttp|IJKPlayer)/i, 'android'],
  // Desktop browsers and players (macOS AVFoundation reports AppleCoreMedia with Macintosh).
  [
    /\b(?:Windows NT|Windows; U|Win64|WOW64|Macintosh|Mac OS X|X11|CrOS|Linux x86_64|Linux i686|VLC|LibVLC|mpv|Kodi|XBMC|QuickTime|Electron|Firefox|Chrome|Safari|Edg\/)/i,
    'desktop',
  ],
];

const MAX_UA_LENGTH = 1024;

/** The device class of a User-Agent string; `other` when it is missing or unrecognised. */
export function classifyUserAgent(ua: string | null | undefined): DeviceClass {
  if (!ua) return 'other';
  // Anything useful is near the start; a pathological kilobyte-long header is not worth a regex pass.
  const text = ua.length > MAX_UA_LENGTH ? ua.slice(0, MAX_UA_LENGTH) : ua;
  for (const [pattern, cls] of RULES) if (pattern.test(text)) return cls;
  return 'other';
}
