// The phone's camera as the desk pages' scanner (zxing-wasm, vendored from the locked npm
// package). A found code is typed into its field and the form submitted, exactly as a
// handheld scanner would.
let scanning = false;
async function scanWithCamera(formats, field, form, errorBox) {
  const video = document.getElementById("camera");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    message(document.getElementById(errorBox), t("cameraOff"), "error");
    return;
  }
  video.srcObject = stream; video.hidden = false;
  await video.play();
  scanning = true;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  while (scanning) {
    if (video.videoWidth) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const [found] = await ZXingWASM.readBarcodes(frame, { formats, tryHarder: true, maxNumberOfSymbols: 1 });
      if (found?.isValid) {
        stopCamera();
        document.getElementById(field).value = found.text;
        document.getElementById(form).requestSubmit();
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
function stopCamera() {
  scanning = false;
  const video = document.getElementById("camera");
  video.srcObject?.getTracks().forEach((track) => track.stop());
  video.srcObject = null; video.hidden = true;
}
document.addEventListener("DOMContentLoaded", () => {
  ZXingWASM.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/zxing_reader.wasm" : prefix + path) },
  });
});
