// The realtime queue: /api/v1/stream over a WebSocket, reconnecting with backoff and
// ?since=<last seq>, so nothing pushed while the connection was down is missed.
//
// States: "connecting" (first connection), "connected" (replay done, live), "reconnecting"
// (lost; retrying), "disconnected" (retrying for a while without success, or offline).

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const FAILURES_BEFORE_DISCONNECTED = 4;

export class EscalationStream {
  /**
   * token(): the bearer token; onState(state); onPush(message) for escalation.created/updated;
   * onReady(isFirst) once the replay is done; onReset() when missed changes cannot be replayed
   * (reload the list); onUnauthorized() when the token is refused (4401).
   */
  constructor({ token, onState, onPush, onReady, onReset, onUnauthorized, heartbeatTimeoutMs }) {
    this.token = token;
    this.onState = onState || (() => {});
    this.onPush = onPush || (() => {});
    this.onReady = onReady || (() => {});
    this.onReset = onReset || (() => {});
    this.onUnauthorized = onUnauthorized || (() => {});
    this.heartbeatTimeoutMs = heartbeatTimeoutMs || 35000;
    this.seq = null;
    this.state = "idle";
    this.failures = 0;
    this.everConnected = false;
    this.socket = null;
    this.retryTimer = null;
    this.watchdog = null;
    this.stopped = false;
    this.handleOnline = () => this.reconnectNow();
    this.handleOffline = () => this.setState("disconnected");
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.handleOnline);
    window.addEventListener("offline", this.handleOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.handleOnline);
    window.removeEventListener("offline", this.handleOffline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }

  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) {
      this.socket.close(4000, "reconnect");
      return; // onclose schedules the next attempt
    }
    this.connect();
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = new URL(`${scheme}//${location.host}/api/v1/stream`);
    url.searchParams.set("access_token", this.token());
    if (this.seq !== null) url.searchParams.set("since", String(this.seq));
    return url.toString();
  }

  connect() {
    if (this.stopped) return;
    if (!this.everConnected && this.failures === 0) this.setState("connecting");
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.armWatchdog();
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.armWatchdog();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.receive(message);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      clearTimeout(this.watchdog);
      if (this.stopped) return;
      if (event.code === 4401) {
        this.setState("disconnected");
        this.onUnauthorized();
        return;
      }
      this.scheduleRetry();
    };
  }

  receive(message) {
    const seq = Number.isInteger(message.seq) ? message.seq : null;
    switch (message.type) {
      case "ready": {
        if (seq !== null) this.seq = Math.max(this.seq ?? 0, seq);
        const first = !this.everConnected;
        this.everConnected = true;
        this.failures = 0;
        this.setState("connected");
        this.onReady(first);
        break;
      }
      case "reset":
        if (seq !== null) this.seq = seq;
        this.onReset();
        break;
      case "heartbeat":
        if (seq !== null) this.seq = Math.max(this.seq ?? 0, seq);
        break;
      case "escalation.created":
      case "escalation.updated":
        if (seq !== null && this.seq !== null && seq <= this.seq) return; // seen already
        if (seq !== null) this.seq = seq;
        this.onPush(message);
        break;
      default:
        break;
    }
  }

  armWatchdog() {
    clearTimeout(this.watchdog);
    // No heartbeat for a long while: the connection is dead even if the socket looks open.
    this.watchdog = setTimeout(() => this.reconnectNow(), this.heartbeatTimeoutMs);
  }

  scheduleRetry() {
    this.failures += 1;
    const offline = navigator.onLine === false;
    this.setState(
      offline || this.failures > FAILURES_BEFORE_DISCONNECTED ? "disconnected" : "reconnecting",
    );
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (this.failures - 1));
    const jitter = delay * (0.8 + Math.random() * 0.4);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), jitter);
  }
}
