import { TAG, children, content, decodeOid, readRoot, type Tlv } from './der';

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** A directory string as text; non-string values are shown as `#hex` (RFC 4514 2.4). */
function attributeText(buf: Uint8Array, tlv: Tlv): string {
  const bytes = Buffer.from(content(buf, tlv));
  switch (tlv.tag) {
    case TAG.UTF8_STRING:
      return bytes.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case 0x14: // TeletexString: latin1 is the common reading
      return bytes.toString('latin1');
    case 0x1e: // BMPString, UTF-16BE
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      return `#${Buffer.from(buf.subarray(tlv.start, tlv.end)).toString('hex')}`;
  }
}

function escape(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])|( )$/g, '\\$1$2');
}

/**
 * An RFC 4514 string for display and logs (`CN=device-1,O=Acme`). Never used for matching:
 * issuer matching compares the DER bytes.
 */
export function formatName(name: Uint8Array): string {
  try {
    const rdns = children(name, readRoot(name)).map((rdn) =>
      children(name, rdn)
        .map((atv) => {
          const [oid, value] = children(name, atv);
          const type = decodeOid(name, oid!);
          return `${SHORT_NAMES[type] ?? type}=${escape(attributeText(name, value!))}`;
        })
        .join('+'),
    );
    return rdns.reverse().join(',');
  } catch {
    return `#${Buffer.from(name).toString('hex')}`;
  }
}

/** The values of one attribute type (e.g. CN) in a Name, in order. */
export function nameAttributes(name: Uint8Array, type: string): string[] {
  const out: string[] = [];
  for (const rdn of children(name, readRoot(name))) {
    for (const atv of children(name, rdn)) {
      const [oid, value] = children(name, atv);
      if (decodeOid(name, oid!) === type) out.push(attributeText(name, value!));
    }
  }
  return out;
}
