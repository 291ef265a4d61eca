// A QR code drawn as SVG rectangles from the module matrix of qrcode-generator: no image URL,
// no canvas, nothing the strict CSP would refuse.
import qrcode from 'qrcode-generator';

export function QrCode({ text, label, size = 200 }: { text: string; label: string; size?: number }) {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4; // the white border readers need
  const cells: string[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) cells.push(`M${c + quiet} ${r + quiet}h1v1h-1z`);
    }
  }
  const full = n + 2 * quiet;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      width={size}
      height={size}
      viewBox={`0 0 ${full} ${full}`}
      shape-rendering="crispEdges"
      data-testid="totp-qr"
    >
      <rect width={full} height={full} fill="#fff" />
      <path d={cells.join('')} fill="#000" />
    </svg>
  );
}
