/** Bits in and out of a byte array, most significant bit first (the chunk codec's wire order). */

const TWO_32 = 2 ** 32;

/** The low `count` bits of a 32-bit word (count 0..32). */
const lowBits = (value: number, count: number): number => (count === 32 ? value >>> 0 : (value & ((1 << count) - 1)) >>> 0);

export class BitWriter {
  private bytes: Uint8Array;
  private bitLength = 0;

  constructor(initialBytes = 64) {
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Writes the low `count` (0..32) bits of `value`. */
  write(value: number, count: number): void {
    let remaining = count;
    const word = lowBits(value, count);
    while (remaining > 0) {
      const byteIndex = this.bitLength >>> 3;
      if (byteIndex >= this.bytes.length) this.grow();
      const free = 8 - (this.bitLength & 7);
      const take = Math.min(free, remaining);
      const chunk = (word >>> (remaining - take)) & ((1 << take) - 1);
      this.bytes[byteIndex] = (this.bytes[byteIndex] ?? 0) | (chunk << (free - take));
      this.bitLength += take;
      remaining -= take;
    }
  }

  writeBit(bit: boolean): void {
    this.write(bit ? 1 : 0, 1);
  }

  /** Writes the low `count` (0..64) bits of the 64-bit word high:low. */
  write64(high: number, low: number, count: number): void {
    if (count > 32) {
      this.write(high, count - 32);
      this.write(low, 32);
    } else this.write(low, count);
  }

  /** Writes a signed integer within +/-2^53 as 64-bit two's complement. */
  writeInt64(value: number): void {
    const high = Math.floor(value / TWO_32);
    this.write64(high >>> 0, value - high * TWO_32, 64);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, Math.ceil(this.bitLength / 8));
  }

  private grow(): void {
    const larger = new Uint8Array(this.bytes.length * 2);
    larger.set(this.bytes);
    this.bytes = larger;
  }
}

export class BitReader {
  private bitPosition = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Reads `count` (0..32) bits as an unsigned number. */
  read(count: number): number {
    let result = 0;
    let remaining = count;
    while (remaining > 0) {
      const byteIndex = this.bitPosition >>> 3;
      const byte = this.bytes[byteIndex];
      if (byte === undefined) throw new RangeError('chunk ends before its last sample');
      const available = 8 - (this.bitPosition & 7);
      const take = Math.min(available, remaining);
      const chunk = (byte >>> (available - take)) & ((1 << take) - 1);
      result = result * (1 << take) + chunk;
      this.bitPosition += take;
      remaining -= take;
    }
    return result;
  }

  readBit(): boolean {
    return this.read(1) === 1;
  }

  /** Reads `count` (0..64) bits as the 64-bit word [high, low]. */
  read64(count: number): [number, number] {
    if (count > 32) {
      const high = this.read(count - 32);
      return [high, this.read(32)];
    }
    return [0, this.read(count)];
  }

  readInt64(): number {
    const [high, low] = this.read64(64);
    return (high | 0) * TWO_32 + low;
  }
}
