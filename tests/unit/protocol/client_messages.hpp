#pragma once
// Real client messages from /work/shared/examples/client-messages.json (the tandem.watch
// extension; SDP and ICE from a real Chromium peer connection), compact JSON, split into
// adjacent raw string literals to keep lines short. Generated once; edit by hand if needed.
#include <array>
#include <string_view>

namespace tandem::protocol::test {

struct ClientMessage {
  std::string_view note;
  std::string_view json;
};

inline constexpr std::array kClientMessages{
    ClientMessage{
        "JOIN as the extension sends it (background service), first join creates the room"
        "; pin optional",
        R"j({"type":"JOIN","userId":"user_k2x9f0q1v7","roomId":"movie-night-42","username":"Alic)j"
        R"j(e","pin":"4821","timestamp":1764254400000})j"},
    ClientMessage{
        "JOIN from the second viewer",
        R"j({"type":"JOIN","userId":"user_3hd82mzt0p","roomId":"movie-night-42","username":"Bob")j"
        R"j(,"pin":"4821","timestamp":1764254403120})j"},
    ClientMessage{"heartbeat every 15 s; the client treats a missing PONG within 10 s as a miss, 3 "
                  "misses as a dead link",
                  R"j({"type":"PING","userId":"user_k2x9f0q1v7","timestamp":1764254415000})j"},
    ClientMessage{
        "WebRTC: existing members send an OFFER to a newcomer after USER_JOINED (real Chr"
        "omium SDP, audio+video)",
        R"j({"type":"OFFER","from":"user_k2x9f0q1v7","to":"user_3hd82mzt0p","offer":{"type":"off)j"
        R"j(er","sdp":"v=0\r\no=- 7881780308710272437 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=gr)j"
        R"j(oup:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS 3470101c-9c20-4316-a7)j"
        R"j(07-41dbf0ac87e2\r\nm=audio 45719 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN I)j"
        R"j(P4 192.0.2.2\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:2404775142 1 udp 2122194687 1)j"
        R"j(92.0.2.2 45719 typ host generation 0 network-id 1\r\na=candidate:2284296278 1 udp 21)j"
        R"j(22265343 fd00::2 51340 typ host generation 0 network-id 2\r\na=ice-ufrag:Jzzh\r\na=i)j"
        R"j(ce-pwd:VzGSsdY94ct5Apgw6UkAZg60\r\na=ice-options:trickle\r\na=fingerprint:sha-256 3C)j"
        R"j(:39:AF:32:59:27:D2:5E:EE:0B:66:51:E7:7D:D5:D8:84:1C:BC:58:59:83:2E:72:1E:A1:F9:FF:E5)j"
        R"j(:4B:47:2D\r\na=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssr)j"
        R"j(c-audio-level\r\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-ti)j"
        R"j(me\r\na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensi)j"
        R"j(ons-01\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\na=msid:347)j"
        R"j(0101c-9c20-4316-a707-41dbf0ac87e2 e4ec48d1-78fa-4aa9-8bd5-b7f8c04ab193\r\na=rtcp-mux)j"
        R"j(\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=all\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb)j"
        R"j(:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/)j"
        R"j(2\r\na=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8)j"
        R"j( PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:)j"
        R"j(126 telephone-event/8000\r\na=ssrc:3886621675 cname:N26WVqBGlFrv4KJc\r\na=ssrc:38866)j"
        R"j(21675 msid:3470101c-9c20-4316-a707-41dbf0ac87e2 e4ec48d1-78fa-4aa9-8bd5-b7f8c04ab193)j"
        R"j(\r\nm=video 49048 UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39)j"
        R"j( 40 45 46 98 99 100 101 118 119 120\r\nc=IN IP4 192.0.2.2\r\na=rtcp:9 IN IP4 0.0.0.0)j"
        R"j(\r\na=candidate:2404775142 1 udp 2122194687 192.0.2.2 49048 typ host generation 0 ne)j"
        R"j(twork-id 1\r\na=candidate:2284296278 1 udp 2122265343 fd00::2 45154 typ host generat)j"
        R"j(ion 0 network-id 2\r\na=ice-ufrag:Jzzh\r\na=ice-pwd:VzGSsdY94ct5Apgw6UkAZg60\r\na=ic)j"
        R"j(e-options:trickle\r\na=fingerprint:sha-256 3C:39:AF:32:59:27:D2:5E:EE:0B:66:51:E7:7D)j"
        R"j(:D5:D8:84:1C:BC:58:59:83:2E:72:1E:A1:F9:FF:E5:4B:47:2D\r\na=setup:actpass\r\na=mid:1)j"
        R"j(\r\na=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\na=extmap:2 http://www.webrtc.o)j"
        R"j(rg/experiments/rtp-hdrext/abs-send-time\r\na=extmap:13 urn:3gpp:video-orientation\r\)j"
        R"j(na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-0)j"
        R"j(1\r\na=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\na=extm)j"
        R"j(ap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type\r\na=extmap:7 h)j"
        R"j(ttp://www.webrtc.org/experiments/rtp-hdrext/video-timing\r\na=extmap:8 http://www.we)j"
        R"j(brtc.org/experiments/rtp-hdrext/color-space\r\na=extmap:4 urn:ietf:params:rtp-hdrext)j"
        R"j(:sdes:mid\r\na=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\na=extmap:1)j"
        R"j(1 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\na=sendrecv\r\na=msid:347)j"
        R"j(0101c-9c20-4316-a707-41dbf0ac87e2 82269f19-2c64-418f-b560-7a20ddff4e8b\r\na=rtcp-mux)j"
        R"j(\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=all\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 )j"
        R"j(goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\)j"
        R"j(r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:10)j"
        R"j(2 H264/90000\r\na=rtcp-fb:102 goog-remb\r\na=rtcp-fb:102 transport-cc\r\na=rtcp-fb:1)j"
        R"j(02 ccm fir\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\na=fmtp:102 level-asymm)j"
        R"j(etry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\na=rtpmap:103 rtx/9000)j"
        R"j(0\r\na=fmtp:103 apt=102\r\na=rtpmap:104 H264/90000\r\na=rtcp-fb:104 goog-remb\r\na=r)j"
        R"j(tcp-fb:104 transport-cc\r\na=rtcp-fb:104 ccm fir\r\na=rtcp-fb:104 nack\r\na=rtcp-fb:)j"
        R"j(104 nack pli\r\na=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-le)j"
        R"j(vel-id=42001f\r\na=rtpmap:107 rtx/90000\r\na=fmtp:107 apt=104\r\na=rtpmap:108 H264/9)j"
        R"j(0000\r\na=rtcp-fb:108 goog-remb\r\na=rtcp-fb:108 transport-cc\r\na=rtcp-fb:108 ccm f)j"
        R"j(ir\r\na=rtcp-fb:108 nack\r\na=rtcp-fb:108 nack pli\r\na=fmtp:108 level-asymmetry-all)j"
        R"j(owed=1;packetization-mode=1;profile-level-id=42e01f\r\na=rtpmap:109 rtx/90000\r\na=f)j"
        R"j(mtp:109 apt=108\r\na=rtpmap:114 H264/90000\r\na=rtcp-fb:114 goog-remb\r\na=rtcp-fb:1)j"
        R"j(14 transport-cc\r\na=rtcp-fb:114 ccm fir\r\na=rtcp-fb:114 nack\r\na=rtcp-fb:114 nack)j"
        R"j( pli\r\na=fmtp:114 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4)j"
        R"j(2e01f\r\na=rtpmap:115 rtx/90000\r\na=fmtp:115 apt=114\r\na=rtpmap:116 H264/90000\r\n)j"
        R"j(a=rtcp-fb:116 goog-remb\r\na=rtcp-fb:116 transport-cc\r\na=rtcp-fb:116 ccm fir\r\na=)j"
        R"j(rtcp-fb:116 nack\r\na=rtcp-fb:116 nack pli\r\na=fmtp:116 level-asymmetry-allowed=1;p)j"
        R"j(acketization-mode=1;profile-level-id=4d001f\r\na=rtpmap:117 rtx/90000\r\na=fmtp:117 )j"
        R"j(apt=116\r\na=rtpmap:39 H264/90000\r\na=rtcp-fb:39 goog-remb\r\na=rtcp-fb:39 transpor)j"
        R"j(t-cc\r\na=rtcp-fb:39 ccm fir\r\na=rtcp-fb:39 nack\r\na=rtcp-fb:39 nack pli\r\na=fmtp)j"
        R"j(:39 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=4d001f\r\na=rtpm)j"
        R"j(ap:40 rtx/90000\r\na=fmtp:40 apt=39\r\na=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 goog-re)j"
        R"j(mb\r\na=rtcp-fb:45 transport-cc\r\na=rtcp-fb:45 ccm fir\r\na=rtcp-fb:45 nack\r\na=rt)j"
        R"j(cp-fb:45 nack pli\r\na=fmtp:45 level-idx=5;profile=0;tier=0\r\na=rtpmap:46 rtx/90000)j"
        R"j(\r\na=fmtp:46 apt=45\r\na=rtpmap:98 VP9/90000\r\na=rtcp-fb:98 goog-remb\r\na=rtcp-fb)j"
        R"j(:98 transport-cc\r\na=rtcp-fb:98 ccm fir\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack p)j"
        R"j(li\r\na=fmtp:98 profile-id=0\r\na=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtpma)j"
        R"j(p:100 VP9/90000\r\na=rtcp-fb:100 goog-remb\r\na=rtcp-fb:100 transport-cc\r\na=rtcp-f)j"
        R"j(b:100 ccm fir\r\na=rtcp-fb:100 nack\r\na=rtcp-fb:100 nack pli\r\na=fmtp:100 profile-)j"
        R"j(id=2\r\na=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\na=rtpmap:118 red/90000\r\na=)j"
        R"j(rtpmap:119 rtx/90000\r\na=fmtp:119 apt=118\r\na=rtpmap:120 ulpfec/90000\r\na=ssrc-gr)j"
        R"j(oup:FID 3132687484 2347009262\r\na=ssrc:3132687484 cname:N26WVqBGlFrv4KJc\r\na=ssrc:)j"
        R"j(3132687484 msid:3470101c-9c20-4316-a707-41dbf0ac87e2 82269f19-2c64-418f-b560-7a20ddf)j"
        R"j(f4e8b\r\na=ssrc:2347009262 cname:N26WVqBGlFrv4KJc\r\na=ssrc:2347009262 msid:3470101c)j"
        R"j(-9c20-4316-a707-41dbf0ac87e2 82269f19-2c64-418f-b560-7a20ddff4e8b\r\n"},"userId":"us)j"
        R"j(er_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "the newcomer answers",
        R"j({"type":"ANSWER","from":"user_3hd82mzt0p","to":"user_k2x9f0q1v7","answer":{"type":"a)j"
        R"j(nswer","sdp":"v=0\r\no=- 5273480862920410047 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na)j"
        R"j(=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS 68f20e39-ce19-488d)j"
        R"j(-8366-8a6c33ff9cfd\r\nm=audio 46174 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=I)j"
        R"j(N IP4 192.0.2.2\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=candidate:1127608409 1 udp 212219468)j"
        R"j(7 192.0.2.2 46174 typ host generation 0 network-id 1\r\na=candidate:1145543913 1 udp)j"
        R"j( 2122265343 fd00::2 37782 typ host generation 0 network-id 2\r\na=ice-ufrag:fOiB\r\n)j"
        R"j(a=ice-pwd:fsGctAb3jViKCGBZfRaRL3BO\r\na=ice-options:trickle\r\na=fingerprint:sha-256)j"
        R"j( CB:A4:EA:1D:C6:0E:4C:31:8B:28:8E:44:4D:F3:14:B9:90:1A:69:90:04:81:D0:D3:E2:03:7B:9E)j"
        R"j(:14:FE:B7:6C\r\na=setup:active\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:s)j"
        R"j(src-audio-level\r\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-)j"
        R"j(time\r\na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-exten)j"
        R"j(sions-01\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\na=msid:6)j"
        R"j(8f20e39-ce19-488d-8366-8a6c33ff9cfd 04e184c3-678b-4d3a-bbb2-a7f5b97ac720\r\na=rtcp-m)j"
        R"j(ux\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=all\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-)j"
        R"j(fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/4800)j"
        R"j(0/2\r\na=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap)j"
        R"j(:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpma)j"
        R"j(p:126 telephone-event/8000\r\na=ssrc:2783516692 cname:vanIR486Ho15j3VB\r\nm=video 9 )j"
        R"j(UDP/TLS/RTP/SAVPF 96 97 102 103 104 107 108 109 114 115 116 117 39 40 45 46 98 99 10)j"
        R"j(0 101 118 119 120\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:fOiB)j"
        R"j(\r\na=ice-pwd:fsGctAb3jViKCGBZfRaRL3BO\r\na=ice-options:trickle\r\na=fingerprint:sha)j"
        R"j(-256 CB:A4:EA:1D:C6:0E:4C:31:8B:28:8E:44:4D:F3:14:B9:90:1A:69:90:04:81:D0:D3:E2:03:7)j"
        R"j(B:9E:14:FE:B7:6C\r\na=setup:active\r\na=mid:1\r\na=extmap:14 urn:ietf:params:rtp-hdr)j"
        R"j(ext:toffset\r\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time)j"
        R"j(\r\na=extmap:13 urn:3gpp:video-orientation\r\na=extmap:3 http://www.ietf.org/id/draf)j"
        R"j(t-holmer-rmcat-transport-wide-cc-extensions-01\r\na=extmap:5 http://www.webrtc.org/e)j"
        R"j(xperiments/rtp-hdrext/playout-delay\r\na=extmap:6 http://www.webrtc.org/experiments/)j"
        R"j(rtp-hdrext/video-content-type\r\na=extmap:7 http://www.webrtc.org/experiments/rtp-hd)j"
        R"j(rext/video-timing\r\na=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-s)j"
        R"j(pace\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=extmap:10 urn:ietf:param)j"
        R"j(s:rtp-hdrext:sdes:rtp-stream-id\r\na=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repai)j"
        R"j(red-rtp-stream-id\r\na=sendrecv\r\na=msid:68f20e39-ce19-488d-8366-8a6c33ff9cfd cf30a)j"
        R"j(022-013c-4f81-a501-8e0b33758117\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtcp-xr:rcvr-rtt=)j"
        R"j(all\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\)j"
        R"j(r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97)j"
        R"j( rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\na=rtcp-fb:102 goog-remb)j"
        R"j(\r\na=rtcp-fb:102 transport-cc\r\na=rtcp-fb:102 ccm fir\r\na=rtcp-fb:102 nack\r\na=r)j"
        R"j(tcp-fb:102 nack pli\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;pro)j"
        R"j(file-level-id=42001f\r\na=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rtpmap:104)j"
        R"j( H264/90000\r\na=rtcp-fb:104 goog-remb\r\na=rtcp-fb:104 transport-cc\r\na=rtcp-fb:10)j"
        R"j(4 ccm fir\r\na=rtcp-fb:104 nack\r\na=rtcp-fb:104 nack pli\r\na=fmtp:104 level-asymme)j"
        R"j(try-allowed=1;packetization-mode=0;profile-level-id=42001f\r\na=rtpmap:107 rtx/90000)j"
        R"j(\r\na=fmtp:107 apt=104\r\na=rtpmap:108 H264/90000\r\na=rtcp-fb:108 goog-remb\r\na=rt)j"
        R"j(cp-fb:108 transport-cc\r\na=rtcp-fb:108 ccm fir\r\na=rtcp-fb:108 nack\r\na=rtcp-fb:1)j"
        R"j(08 nack pli\r\na=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-lev)j"
        R"j(el-id=42e01f\r\na=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\na=rtpmap:114 H264/90)j"
        R"j(000\r\na=rtcp-fb:114 goog-remb\r\na=rtcp-fb:114 transport-cc\r\na=rtcp-fb:114 ccm fi)j"
        R"j(r\r\na=rtcp-fb:114 nack\r\na=rtcp-fb:114 nack pli\r\na=fmtp:114 level-asymmetry-allo)j"
        R"j(wed=1;packetization-mode=0;profile-level-id=42e01f\r\na=rtpmap:115 rtx/90000\r\na=fm)j"
        R"j(tp:115 apt=114\r\na=rtpmap:116 H264/90000\r\na=rtcp-fb:116 goog-remb\r\na=rtcp-fb:11)j"
        R"j(6 transport-cc\r\na=rtcp-fb:116 ccm fir\r\na=rtcp-fb:116 nack\r\na=rtcp-fb:116 nack )j"
        R"j(pli\r\na=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d)j"
        R"j(001f\r\na=rtpmap:117 rtx/90000\r\na=fmtp:117 apt=116\r\na=rtpmap:39 H264/90000\r\na=)j"
        R"j(rtcp-fb:39 goog-remb\r\na=rtcp-fb:39 transport-cc\r\na=rtcp-fb:39 ccm fir\r\na=rtcp-)j"
        R"j(fb:39 nack\r\na=rtcp-fb:39 nack pli\r\na=fmtp:39 level-asymmetry-allowed=1;packetiza)j"
        R"j(tion-mode=0;profile-level-id=4d001f\r\na=rtpmap:40 rtx/90000\r\na=fmtp:40 apt=39\r\n)j"
        R"j(a=rtpmap:45 AV1/90000\r\na=rtcp-fb:45 goog-remb\r\na=rtcp-fb:45 transport-cc\r\na=rt)j"
        R"j(cp-fb:45 ccm fir\r\na=rtcp-fb:45 nack\r\na=rtcp-fb:45 nack pli\r\na=fmtp:45 level-id)j"
        R"j(x=5;profile=0;tier=0\r\na=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\na=rtpmap:98 VP9)j"
        R"j(/90000\r\na=rtcp-fb:98 goog-remb\r\na=rtcp-fb:98 transport-cc\r\na=rtcp-fb:98 ccm fi)j"
        R"j(r\r\na=rtcp-fb:98 nack\r\na=rtcp-fb:98 nack pli\r\na=fmtp:98 profile-id=0\r\na=rtpma)j"
        R"j(p:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtpmap:100 VP9/90000\r\na=rtcp-fb:100 goog-r)j"
        R"j(emb\r\na=rtcp-fb:100 transport-cc\r\na=rtcp-fb:100 ccm fir\r\na=rtcp-fb:100 nack\r\n)j"
        R"j(a=rtcp-fb:100 nack pli\r\na=fmtp:100 profile-id=2\r\na=rtpmap:101 rtx/90000\r\na=fmt)j"
        R"j(p:101 apt=100\r\na=rtpmap:118 red/90000\r\na=rtpmap:119 rtx/90000\r\na=fmtp:119 apt=)j"
        R"j(118\r\na=rtpmap:120 ulpfec/90000\r\na=ssrc-group:FID 1355719072 3596120328\r\na=ssrc)j"
        R"j(:1355719072 cname:vanIR486Ho15j3VB\r\na=ssrc:3596120328 cname:vanIR486Ho15j3VB\r\n"})j"
        R"j(,"userId":"user_3hd82mzt0p","roomId":"movie-night-42"})j"},
    ClientMessage{
        "trickled ICE candidates, both directions",
        R"j({"type":"ICE_CANDIDATE","from":"user_k2x9f0q1v7","to":"user_3hd82mzt0p","candidate":)j"
        R"j({"candidate":"candidate:2404775142 1 udp 2122194687 192.0.2.2 45719 typ host generat)j"
        R"j(ion 0 ufrag Jzzh network-id 1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Jz)j"
        R"j(zh"},"userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "host starts playback",
        R"j({"type":"PLAY_PAUSE","control":"play","currentTime":734.217,"eventTimestamp":1764254)j"
        R"j(420331,"userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "receiver confirms (unknown to the server: fallback broadcast; the client filters"
        " on `to`)",
        R"j({"type":"PLAYBACK_ACK","control":"play","to":"user_k2x9f0q1v7","userId":"user_3hd82m)j"
        R"j(zt0p","roomId":"movie-night-42"})j"},
    ClientMessage{
        "host pauses when leaving the /watch page: no currentTime, timestamp 0",
        R"j({"type":"PLAY_PAUSE","control":"pause","timestamp":0,"userId":"user_k2x9f0q1v7","roo)j"
        R"j(mId":"movie-night-42"})j"},
    ClientMessage{
        "host seeks; opens the ready gate",
        R"j({"type":"SEEK","currentTime":1502.5,"isPlaying":true,"eventTimestamp":1764254460000,)j"
        R"j("userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "a viewer has buffered at the target",
        R"j({"type":"READY","targetTime":1502.5,"userId":"user_3hd82mzt0p","roomId":"movie-night)j"
        R"j(-42"})j"},
    ClientMessage{
        "host heartbeat (periodic while playing)",
        R"j({"type":"HOST_HEARTBEAT","currentTime":1510.02,"isPlaying":true,"eventTimestamp":176)j"
        R"j(4254470000,"userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "position report (not broadcast)",
        R"j({"type":"POSITION_UPDATE","currentTime":1509.87,"isPlaying":true,"userId":"user_3hd8)j"
        R"j(2mzt0p","roomId":"movie-night-42"})j"},
    ClientMessage{
        "host moves to the next episode",
        R"j({"type":"URL_CHANGE","url":"https://www.netflix.com/watch/80192098","currentTime":0,)j"
        R"j("userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})j"},
    ClientMessage{
        "a (re)joined viewer asks for the room's position",
        R"j({"type":"REQUEST_SYNC","userId":"user_3hd82mzt0p","roomId":"movie-night-42","respect)j"
        R"j(AutoPlay":false})j"},
    ClientMessage{
        "rename from the sidebar (no length limit in the client)",
        R"j({"type":"UPDATE_USERNAME","userId":"user_3hd82mzt0p","roomId":"movie-night-42","user)j"
        R"j(name":"Bob (living room TV, upstairs, the one with the cat on it)","timestamp":17642)j"
        R"j(54500000})j"},
    ClientMessage{
        "leaving the party",
        R"j({"type":"LEAVE","userId":"user_3hd82mzt0p","roomId":"movie-night-42","timestamp":176)j"
        R"j(4254600000})j"},
};

}  // namespace tandem::protocol::test
