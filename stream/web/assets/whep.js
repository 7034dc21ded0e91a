// WHEP client: receive the stylized video into a <video> element, and
// reconnect by itself when the stream or the server goes away.
"use strict";

function token() {
  return new URLSearchParams(location.search).get("token");
}

function withToken(path) {
  const t = token();
  return t ? path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(t) : path;
}

async function waitGathering(pc) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(resolve, 3000);
  });
}

// play connects video to the server and keeps it connected. onState gets
// "connecting", "playing" or "reconnecting".
function play(video, onState) {
  let pc = null;
  let location = null;
  let retry = null;

  const again = () => {
    if (retry) return;
    onState && onState("reconnecting");
    retry = setTimeout(() => { retry = null; connect(); }, 1500);
  };

  async function connect() {
    if (pc) { try { pc.close(); } catch (e) {} }
    if (location) { fetch(withToken(location), { method: "DELETE" }).catch(() => {}); location = null; }
    onState && onState("connecting");
    pc = new RTCPeerConnection();
    window.vidstylePC = pc;
    window.vidstyleConnects = (window.vidstyleConnects || 0) + 1;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (e) => {
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") onState && onState("playing");
      if (pc.connectionState === "failed" || pc.connectionState === "disconnected" || pc.connectionState === "closed") again();
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathering(pc);
      const res = await fetch(withToken("/whep"), {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) throw new Error("WHEP " + res.status);
      location = res.headers.get("Location");
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    } catch (e) {
      again();
    }
  }
  window.addEventListener("beforeunload", () => {
    if (location) navigator.sendBeacon && fetch(withToken(location), { method: "DELETE", keepalive: true });
  });
  connect();
}
