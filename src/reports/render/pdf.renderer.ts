import type PDFDocumentType from 'pdfkit';
import { numberText } from '../../platform/non-finite.js';
import type { ReportData } from '../report-query.js';
import type { ReportHeader } from './header.js';

const MARGIN = 40;
const PDF_MAX_ROWS = 1_000;

type Doc = PDFKit.PDFDocument;

/** Cuts text to fit `width` points at the current font, with an ellipsis. */
function fit(doc: Doc, text: string, width: number): string {
  if (doc.widthOfString(text) <= width) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (doc.widthOfString(`${text.slice(0, middle)}...`) <= width) low = middle;
    else high = middle - 1;
  }
  return `${text.slice(0, low)}...`;
}

const formatNumber = (value: number): string => (!Number.isFinite(value) ? numberText(value) : Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) >= 100 ? 1 : 3));

/** Line or bar chart of the main series, drawn with vector paths. */
function drawChart(doc: Doc, chart: ReportData['chart'], top: number): number {
  const left = MARGIN + 50;
  const width = doc.page.width - MARGIN - left;
  const height = 180;
  doc.font('Helvetica-Bold').fontSize(11).fillColor('#000000').text(chart.title, MARGIN, top, { lineBreak: false });
  const plotTop = top + 20;
  const bottom = plotTop + height;
  const points = chart.points;
  if (points.length === 0) {
    doc.font('Helvetica').fontSize(9).fillColor('#555555').text('No data in this range.', left, plotTop + height / 2, { lineBreak: false });
    return bottom + 30;
  }
  // The scale works on half values: the span between two doubles (1e308 and -1e308) overflows, half of it does not.
  const values = points.map((point) => point.value / 2);
  let min = Math.min(0, ...values);
  let max = Math.max(...values);
  if (max === min) max = min + 0.5;
  const pad = (max - min) * 0.05;
  if (min < 0) min -= pad;
  max += pad;
  const yOfHalf = (half: number) => bottom - ((half - min) / (max - min)) * height;
  const y = (value: number) => yOfHalf(value / 2);

  doc.lineWidth(0.5).strokeColor('#cccccc');
  doc.font('Helvetica').fontSize(7).fillColor('#555555');
  for (let step = 0; step <= 4; step += 1) {
    const half = min + ((max - min) / 4) * step;
    doc.moveTo(left, yOfHalf(half)).lineTo(left + width, yOfHalf(half)).stroke();
    doc.text(formatNumber(half * 2), MARGIN, yOfHalf(half) - 3, { width: 46, align: 'right', lineBreak: false });
  }
  doc.lineWidth(1).strokeColor('#000000').moveTo(left, plotTop).lineTo(left, bottom).lineTo(left + width, bottom).stroke();

  if (chart.kind === 'bar') {
    const slot = width / points.length;
    const barWidth = Math.max(1, slot * 0.7);
    points.forEach((point, index) => {
      const x = left + index * slot + (slot - barWidth) / 2;
      const top0 = y(Math.max(0, point.value));
      const base = y(Math.min(0, point.value));
      doc.rect(x, top0, barWidth, Math.max(0.5, base - top0)).fill('#2f6db5');
    });
  } else {
    const x = (index: number) => left + (points.length === 1 ? width / 2 : (index * width) / (points.length - 1));
    doc.lineWidth(1.5).strokeColor('#2f6db5');
    points.forEach((point, index) => (index === 0 ? doc.moveTo(x(index), y(point.value)) : doc.lineTo(x(index), y(point.value))));
    doc.stroke();
    if (points.length <= 60) points.forEach((point, index) => doc.circle(x(index), y(point.value), 1.8).fill('#2f6db5'));
  }
  // First and last labels on the x axis: enough to read the span without crowding.
  doc.font('Helvetica').fontSize(7).fillColor('#555555');
  const first = points[0];
  const last = points[points.length - 1];
  if (first !== undefined) doc.text(fit(doc, first.label, width / 2 - 4), left, bottom + 4, { lineBreak: false });
  if (last !== undefined && points.length > 1) {
    const label = fit(doc, last.label, width / 2 - 4);
    doc.text(label, left + width - doc.widthOfString(label), bottom + 4, { lineBreak: false });
  }
  return bottom + 24;
}

function drawTable(doc: Doc, data: ReportData, top: number): void {
  const columns = data.columns;
  const width = doc.page.width - 2 * MARGIN;
  const columnWidth = width / Math.max(1, columns.length);
  const rowHeight = 13;
  const limit = doc.page.height - MARGIN - rowHeight;
  let y = top;
  const header = () => {
    doc.font('Helvetica-Bold').fontSize(8).fillColor('#000000');
    columns.forEach((column, index) => doc.text(fit(doc, column, columnWidth - 4), MARGIN + index * columnWidth + 2, y + 2, { lineBreak: false }));
    doc.lineWidth(0.75).strokeColor('#000000').moveTo(MARGIN, y + rowHeight).lineTo(MARGIN + width, y + rowHeight).stroke();
    y += rowHeight + 2;
    doc.font('Helvetica').fontSize(8);
  };
  header();
  const shown = data.rows.slice(0, PDF_MAX_ROWS);
  shown.forEach((row, rowIndex) => {
    if (y > limit) {
      doc.addPage();
      y = MARGIN;
      header();
    }
    if (rowIndex % 2 === 1) doc.rect(MARGIN, y - 1, width, rowHeight).fill('#f2f2f2');
    doc.fillColor('#000000');
    columns.forEach((column, index) => {
      const value = row[column] ?? null;
      const text = value === null ? '' : typeof value === 'number' ? formatNumber(value) : value;
      doc.text(fit(doc, text, columnWidth - 4), MARGIN + index * columnWidth + 2, y + 2, { lineBreak: false });
    });
    y += rowHeight;
  });
  if (data.rows.length > shown.length) {
    doc.font('Helvetica-Oblique').fontSize(8).text(`${data.rows.length - shown.length} more rows: generate the CSV or JSON format for all of them.`, MARGIN, y + 6, { lineBreak: false });
  }
  if (data.rows.length === 0) doc.font('Helvetica-Oblique').fontSize(8).text('No rows in this range.', MARGIN, y + 4, { lineBreak: false });
}

/**
 * PDF with the title, the range, a chart of the main series and the table. pdfkit (about 7 MiB
 * of RSS with its fonts) is loaded on the first PDF, not at start.
 */
export async function renderPdf(header: ReportHeader, data: ReportData): Promise<Buffer> {
  const { default: PDFDocument }: { default: typeof PDFDocumentType } = await import('pdfkit');
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: header.name, Subject: `Report ${header.reportId}`, Creator: 'monitoring-service' } });
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.font('Helvetica-Bold').fontSize(18).text(header.name, MARGIN, MARGIN, { width: doc.page.width - 2 * MARGIN });
    doc.moveDown(0.3);
    doc.font('Helvetica').fontSize(10).fillColor('#333333');
    doc.text(`Range: ${header.range.from.toISOString()} to ${header.range.to.toISOString()} (UTC)`);
    const details = [`source ${header.query.source}`, header.query.metric_name === undefined ? null : `metric ${header.query.metric_name}`, header.query.service === undefined ? null : `service ${header.query.service}`, header.query.group_by === undefined ? null : `grouped by ${header.query.group_by}`].filter((part) => part !== null);
    doc.text(`${details.join(', ')}; ${data.rows.length} rows; generated ${header.generatedAt.toISOString()}`);
    const afterChart = drawChart(doc, data.chart, doc.y + 14);
    drawTable(doc, data, afterChart);
    doc.end();
  });
}
