// AudioWorklet processor: hands each 128-sample block of the first input channel to the
// page (Float32, at the AudioContext's rate); resampling happens on the main thread.
class MicTap extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input[0] && input[0].length) this.port.postMessage(input[0].slice(0));
    return true;
  }
}
registerProcessor("mic-tap", MicTap);
