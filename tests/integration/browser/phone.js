// A SIP.js 0.21 phone for the integration tests: register over ws:// or wss://, call,
// answer, hang up, and report the state of the call and of its RTCPeerConnection.
// Loaded as an ES module straight from node_modules (no bundler).
import {
  Inviter, Registerer, RegistererState, SessionState, UserAgent,
} from "/node_modules/sip.js/lib/index.js";

const log = [];
let ua = null;
let registerer = null;
let session = null;       // the current call (at most one)
let incoming = [];        // invitations not yet answered
let lastEnded = null;     // state of the last ended call

function note(text) { log.push(text); console.log("phone: " + text); }

function watch(s) {
  session = s;
  s.stateChange.addListener((state) => {
    note("session " + state);
    if (state === SessionState.Terminated) { lastEnded = s; if (session === s) session = null; }
  });
}

window.phone = {
  // {server: "wss://127.0.0.1:8443", aor: "sip:alice@example.test", user, password}
  async register(o) {
    ua = new UserAgent({
      uri: UserAgent.makeURI(o.aor),
      transportOptions: { server: o.server, traceSip: !!o.trace },
      authorizationUsername: o.user,
      authorizationPassword: o.password,
      logLevel: o.trace ? "debug" : "warn",
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] } },
      delegate: {
        onInvite(invitation) { note("incoming " + invitation.remoteIdentity.uri); incoming.push(invitation); },
      },
    });
    await ua.start();
    registerer = new Registerer(ua, { regId: 1, expires: o.expires || 300 });
    const done = new Promise((resolve, reject) => {
      registerer.stateChange.addListener((st) => {
        note("registerer " + st);
        if (st === RegistererState.Registered) resolve(true);
      });
      setTimeout(() => reject(new Error("not registered within 10 s")), 10000);
    });
    await registerer.register({
      requestDelegate: { onReject(response) { note("register rejected " + response.message.statusCode); } },
    });
    return await done;
  },
  async unregister() { if (registerer) await registerer.unregister(); return true; },
  async call(target) {
    const inviter = new Inviter(ua, UserAgent.makeURI(target), {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    watch(inviter);
    await inviter.invite({
      requestDelegate: { onReject(r) { note("call rejected " + r.message.statusCode); } },
    });
    return true;
  },
  async answer() {
    const inv = incoming.shift();
    if (!inv) throw new Error("no incoming call");
    watch(inv);
    await inv.accept({ sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } } });
    return true;
  },
  async hangup() {
    const s = session;
    if (!s) throw new Error("no call");
    // Not awaited: the test watches the session's state end (Terminated) instead.
    const done = s.state === SessionState.Established ? s.bye()
      : s instanceof Inviter ? s.cancel() : s.reject();
    done.catch((e) => note("hangup failed: " + e));
    return true;
  },
  // What the test asserts on.
  status() {
    const s = session || lastEnded;
    const pc = s && s.sessionDescriptionHandler && s.sessionDescriptionHandler.peerConnection;
    return {
      registered: registerer ? registerer.state === RegistererState.Registered : false,
      incoming: incoming.length,
      call: session ? session.state : null,
      ended: lastEnded ? lastEnded.state : null,
      pc: pc ? pc.connectionState : null,
      log: log.slice(-30),
    };
  },
  async stop() { if (ua) await ua.stop(); return true; },
};
note("loaded");
