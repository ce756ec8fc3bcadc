// classifyUserAgent against User-Agent strings as real players, browsers, devices and media servers send them.
import { describe, expect, it } from 'vitest';
import { classifyUserAgent, type DeviceClass } from '../../src/ingest/user-agent.ts';

const CASES: Array<[string, DeviceClass]> = [
  // Android phones, tablets and Android player libraries
  ['ExoPlayerLib/2.19.1 (Linux; Android 14) ExoPlayerLib/2.19.1', 'android'],
  ['androidx.media3:media3-exoplayer:1.3.1 (Linux;Android 13) AndroidXMedia3/1.3.1', 'android'],
  ['MyVideoApp/4.2.0 (Linux;Android 12) ExoPlayerLib/2.18.7', 'android'],
  [
    'Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36',
    'android',
  ],
  [
    'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
    'android',
  ],
  ['Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0', 'android'],
  ['stagefright/1.2 (Linux;Android 9)', 'android'],
  ['Dalvik/2.1.0 (Linux; U; Android 11; Redmi Note 8 Pro MIUI/V12.5.6.0.RGGMIXM)', 'android'],
  ['okhttp/4.12.0', 'android'],
  [
    'Mozilla/5.0 (Linux; Android 10; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36',
    'android',
  ],
  ['VLC/3.5.4 LibVLC/3.0.18 (Linux; Android 12)', 'android'],
  [
    'Kodi/20.2 (Linux; Android 11.0; moto g(30) Build/RRCS31.Q1-17-43) Android/11.0.0 Sys_CPU/aarch64 App_Bitness/64 Version/20.2-(20.2.0)-Git:20230629-5f418d0b13',
    'android',
  ],
  // Apple mobile
  ['AppleCoreMedia/1.0.0.21C62 (iPhone; U; CPU OS 17_2 like Mac OS X; en_us)', 'ios'],
  ['AppleCoreMedia/1.0.0.20G75 (iPad; U; CPU OS 16_6 like Mac OS X; de_de)', 'ios'],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
    'ios',
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1',
    'ios',
  ],
  ['MyApp/3.1 CFNetwork/1490.0.4 Darwin/23.2.0', 'ios'],
  ['VLC/3.5.0 (iPhone; iOS 17.1)', 'ios'],
  [
    'Mozilla/5.0 (iPod touch; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1',
    'ios',
  ],
  // TVs, sticks and TV operating systems
  ['Roku/DVP-12.5 (12.5.0.4178-C6)', 'tv'],
  ['Roku4640X/DVP-7.70 (297.70E04154A)', 'tv'],
  [
    'Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.5) AppleWebKit/537.36 (KHTML, like Gecko) 85.0.4183.93/6.5 TV Safari/537.36',
    'tv',
  ],
  [
    'Mozilla/5.0 (SMART-TV; Linux; Tizen 2.3) AppleWebkit/538.1 (KHTML, like Gecko) SamsungBrowser/1.0 TV Safari/538.1',
    'tv',
  ],
  [
    'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager',
    'tv',
  ],
  ['Mozilla/5.0 (Linux; NetCast; U) AppleWebKit/537.31 (KHTML, like Gecko) Model/42LB650V-ZN', 'tv'],
  [
    'Mozilla/5.0 (Linux; Android 9; BRAVIA 4K GB ATV3 Build/PTT1.190515.001.S52) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.198 Safari/537.36',
    'tv',
  ],
  [
    'Mozilla/5.0 (Linux; Android 9; AFTKA Build/PS7633.3445N; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.80 Mobile Safari/537.36',
    'tv',
  ],
  ['ExoPlayerLib/2.18.1 (Linux; Android 9) AFTMM', 'tv'],
  ['Dalvik/2.1.0 (Linux; U; Android 11; SHIELD Android TV Build/RQ1A.210105.003)', 'tv'],
  [
    'Mozilla/5.0 (Linux; Android 12; Chromecast) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.90 Safari/537.36',
    'tv',
  ],
  [
    'Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.225 Safari/537.36 CrKey/1.56.500000 DeviceType/AudioVideo',
    'tv',
  ],
  ['AppleCoreMedia/1.0.0.21K69 (Apple TV; U; CPU OS 17_2 like Mac OS X; en_us)', 'tv'],
  ['AppleTV11,1/11.1', 'tv'],
  [
    'Mozilla/5.0 (Linux; Android 10; MIBOX4 Build/QTG3.200305.006; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/113.0.5672.162 Mobile Safari/537.36',
    'tv',
  ],
  [
    'Mozilla/5.0 (Linux; Andr0id 9; VIDAA; Hisense) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36',
    'tv',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36 Edge/44.18363.8131',
    'tv',
  ],
  [
    'Mozilla/5.0 (PlayStation; PlayStation 5/6.02) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.4 Safari/605.1.15',
    'tv',
  ],
  ['HbbTV/1.5.1 (+DRM;Panasonic;SmartTV2020;3.2.3;;) FVC/3.0 (Panasonic;SmartTV2020;)', 'tv'],
  // Set-top boxes
  [
    'Mozilla/5.0 (QtEmbedded; U; Linux; C) AppleWebKit/533.3 (KHTML, like Gecko) MAG200 stbapp ver: 2 rev: 250 Safari/533.3',
    'stb',
  ],
  [
    'Mozilla/5.0 (QtEmbedded; U; Linux; C; Emulator/1.2.12) AppleWebKit/533.3 (KHTML, like Gecko) MAG250 stbapp ver: 4 rev: 2721 Mobile Safari/533.3',
    'stb',
  ],
  [
    'Mozilla/5.0 (Linux; Android 11; MAG524 Build/RP1A.201005.006) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.106 Safari/537.36',
    'stb',
  ],
  ['Enigma2 HbbTV/1.1.1 (+PVR+RTSP+DL;OpenATV;;;)', 'stb'],
  [
    'Mozilla/5.0 (Linux; Android 7.1.2; Formuler Z8 Build/NHG47L) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Safari/537.36',
    'stb',
  ],
  ['Kodi/21.0 (X11; Linux x86_64) LibreELEC/12.0.0 App_Bitness/64 Version/21.0-(21.0.0)-Git:20240406-f9d0fa0', 'stb'],
  ['Kodi/20.2 (Linux; CoreELEC 20.2; aarch64) App_Bitness/32', 'stb'],
  ['Lavf53.32.100 TVIP/5.2.1', 'streaming_server'],
  // Media servers and stream-pulling tools
  ['Lavf53.32.100', 'streaming_server'],
  ['Lavf/60.16.100', 'streaming_server'],
  ['FFmpeg/6.1.1', 'streaming_server'],
  ['GStreamer souphttpsrc 1.22.0 libsoup/3.2.2', 'streaming_server'],
  ['Wowza Streaming Engine/4.8.25 build20231214', 'streaming_server'],
  ['WowzaStreamingEngine/4.8.5', 'streaming_server'],
  ['Flussonic 23.12', 'streaming_server'],
  ['nginx/1.25.3', 'streaming_server'],
  ['Streamlink/6.5.0 (Linux x86_64)', 'streaming_server'],
  ['curl/8.5.0', 'streaming_server'],
  // Desktop browsers and players
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'desktop',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
    'desktop',
  ],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0', 'desktop'],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
    'desktop',
  ],
  ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'desktop'],
  [
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'desktop',
  ],
  ['AppleCoreMedia/1.0.0.23C71 (Macintosh; U; Intel Mac OS X 14_2_1; en_us)', 'desktop'],
  ['VLC/3.0.20 LibVLC/3.0.20', 'desktop'],
  ['mpv 0.37.0', 'desktop'],
  [
    'Kodi/20.2 (Windows NT 10.0.19045; Win64; x64) App_Bitness/64 Version/20.2-(20.2.0)-Git:20230629-5f418d0b13',
    'desktop',
  ],
  ['QuickTime/7.7.9 (qtver=7.7.9;os=Windows NT 6.1Service Pack 1)', 'desktop'],
  // Unknown or missing
  ['', 'other'],
  ['Mozilla/5.0', 'other'],
  ['SomeCustomPlayer/1.0', 'other'],
];

describe('classifyUserAgent', () => {
  it('is tested against at least 50 real user agents', () => {
    expect(CASES.filter(([ua]) => ua.length > 12).length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES)('%s → %s', (ua, expected) => {
    expect(classifyUserAgent(ua)).toBe(expected);
  });

  it('treats a missing user agent as other', () => {
    expect(classifyUserAgent(undefined)).toBe('other');
    expect(classifyUserAgent(null)).toBe('other');
  });
});
