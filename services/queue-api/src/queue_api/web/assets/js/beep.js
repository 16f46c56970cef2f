// A short WebAudio beep for new and updated escalations: synthesized, no audio files.

let context = null;

function audio() {
  if (!context) {
    const AudioContext = window.AudioContext || window.webkitAudioContext;
    if (!AudioContext) return null;
    context = new AudioContext();
  }
  if (context.state === "suspended") context.resume().catch(() => {});
  return context;
}

/** Call from a click or key press: browsers only start audio after a user gesture. */
export function unlockAudio() {
  audio();
}

function tone(ctx, frequency, start, duration, volume) {
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  oscillator.type = "sine";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(volume, start + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + duration);
  oscillator.connect(gain).connect(ctx.destination);
  oscillator.start(start);
  oscillator.stop(start + duration + 0.02);
}

/** "new": two rising tones; "update": one soft tone. */
export function beep(kind = "new") {
  const ctx = audio();
  if (!ctx) return;
  const now = ctx.currentTime + 0.01;
  if (kind === "new") {
    tone(ctx, 660, now, 0.12, 0.2);
    tone(ctx, 880, now + 0.13, 0.16, 0.2);
  } else {
    tone(ctx, 520, now, 0.14, 0.12);
  }
}
