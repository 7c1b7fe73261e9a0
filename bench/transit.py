#!/usr/bin/env python3
"""Transit time through a SIP proxy, from a loopback capture (bench/run-transit.sh).

Usage: transit.py [--summary] [--json FILE] PCAP PROXY_PORT [PROXY_IP]

Reads a pcap file (tcpdump -w, micro- or nanosecond timestamps; link types Ethernet as
Linux uses on lo, Linux cooked v1/v2, raw IPv4, BSD loopback), keeps the UDP datagrams
to and from PROXY_IP:PROXY_PORT (default 127.0.0.1) and pairs every datagram the proxy
received with the one it sent for it:

  request forwarded   same Call-ID, CSeq number and method, received from one peer and
                      sent from the proxy's port to another peer (the next hop)
  response relayed    same Call-ID, CSeq number, CSeq method and status code, received
                      from one peer and sent toward another (the previous hop)
  local answer        a response the proxy sent back to the peer a request came from,
                      with nothing of that status received (100 Trying, a 407
                      challenge): request -> answer, reported apart ("INVITE->100 local")

Transit = send timestamp - receive timestamp. On lo both are taken by the kernel on the
same clock when the datagram is handed to the loopback device, i.e. when SIPp (or the
proxy) sent it: the figure includes the time the datagram waited in the proxy's socket
buffer for a worker to wake up and read it, and the proxy's work up to its send call.

A retransmission (same key received again before the proxy sent anything for it) is
paired with the first copy's send if it is the first; others stay unpaired. Datagrams
left unpaired are counted per kind: received and never sent on (the next step fell after
the end of the capture, or lost), and sent
without a received counterpart (the request was received before the capture started).
A 100 from the next hop and the ACK of a non-2xx answer of the proxy's own end at the
proxy by design: counted as "absorbed".

Prints per message kind and overall (forwarded + relayed, local answers apart): count,
p50, p90, p99 and max transit in microseconds. --summary prints one line instead:
"count p50 p90 p99 max unpaired_in unpaired_out local_count local_p99" (overall).
Python 3 stdlib only.
"""
import json
import struct
import sys
from collections import defaultdict, deque


def read_pcap(path):
    """Yields (timestamp_us: float, ip packet bytes) of every record."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        endian = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        endian = '>'
    else:
        raise SystemExit(f'{path}: not a pcap file (pcapng is not supported; use tcpdump -w)')
    nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(endian + 'I', data[20:24])[0] & 0x0fffffff
    off = 24
    rec = struct.Struct(endian + 'IIII')
    while off + 16 <= len(data):
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += 16
        frame = data[off:off + incl]
        off += incl
        ts = sec * 1e6 + (frac / 1000.0 if nano else frac)
        ip = link_payload(linktype, frame)
        if ip is not None:
            yield ts, ip


def link_payload(linktype, frame):
    """The IPv4 packet inside a frame, or None."""
    if linktype == 1:            # Ethernet (Linux lo: zero MAC addresses)
        if len(frame) < 14:
            return None
        etype = struct.unpack_from('>H', frame, 12)[0]
        return frame[14:] if etype == 0x0800 else None
    if linktype == 113:          # Linux cooked v1
        return frame[16:] if len(frame) >= 16 and struct.unpack_from('>H', frame, 14)[0] == 0x0800 else None
    if linktype == 276:          # Linux cooked v2
        return frame[20:] if len(frame) >= 20 and struct.unpack_from('>H', frame, 0)[0] == 0x0800 else None
    if linktype in (101, 228, 12):  # raw IP
        return frame
    if linktype == 0:            # BSD loopback: 4-byte family in host order
        return frame[4:]
    return None


def udp_datagram(ip):
    """(src_ip, src_port, dst_ip, dst_port, payload) of a UDP/IPv4 packet, or None.
    Fragments are not reassembled (lo's MTU of 64 KiB keeps SIP messages whole)."""
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 0x0f) * 4
    frag = struct.unpack_from('>H', ip, 6)[0]
    if frag & 0x1fff or frag & 0x2000:
        return None
    total = struct.unpack_from('>H', ip, 2)[0]
    udp = ip[ihl:total]
    if len(udp) < 8:
        return None
    sport, dport, ulen = struct.unpack_from('>HHH', udp, 0)
    src = '.'.join(str(b) for b in ip[12:16])
    dst = '.'.join(str(b) for b in ip[16:20])
    return src, sport, dst, dport, udp[8:ulen]


def sip_key(payload):
    """(kind, key) of a SIP message: kind is the method of a request or the status code
    of a response ("200"); key identifies the message across the proxy (Call-ID, CSeq,
    kind). None for anything that is not SIP (keepalives)."""
    head = payload.split(b'\r\n\r\n', 1)[0]
    lines = head.split(b'\r\n')
    if not lines or not lines[0]:
        return None
    first = lines[0].split(b' ')
    if lines[0].startswith(b'SIP/2.0 '):
        if len(first) < 2:
            return None
        kind, is_req = first[1].decode('ascii', 'replace'), False
    else:
        if len(first) < 3 or not first[2].startswith(b'SIP/'):
            return None
        kind, is_req = first[0].decode('ascii', 'replace'), True
    call_id = cseq = None
    for line in lines[1:]:
        name, sep, value = line.partition(b':')
        if not sep:
            continue
        n = name.strip().lower()
        if n in (b'call-id', b'i'):
            call_id = value.strip()
        elif n == b'cseq':
            cseq = b' '.join(value.split())
    if call_id is None or cseq is None:
        return None
    cseq_method = cseq.split(b' ')[-1].decode('ascii', 'replace')
    return is_req, kind, cseq_method, (is_req, call_id, cseq, kind)


def percentile(sorted_values, p):
    if not sorted_values:
        return float('nan')
    # nearest rank
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def analyse(path, port, proxy_ip='127.0.0.1'):
    me = (proxy_ip, port)
    pending = defaultdict(deque)        # key -> received copies not yet sent on: (ts, peer, label)
    requests = {}                       # (call_id, cseq) -> (ts, peer, method) first receipt
    answered_locally = set()            # (call_id, cseq, status) already paired as local answer
    forwarded = set()                   # (call_id, cseq) of requests forwarded
    final_locally = set()               # (call_id, cseq number) the proxy answered with >= 200
    transits = defaultdict(list)        # label -> [us]
    local = defaultdict(list)
    unpaired_out = defaultdict(int)
    retrans_in = defaultdict(int)
    first_ts = last_ts = None
    packets = 0
    for ts, ip in read_pcap(path):
        d = udp_datagram(ip)
        if d is None:
            continue
        src, sport, dst, dport, payload = d
        inbound, outbound = (dst, dport) == me, (src, sport) == me
        if not (inbound or outbound):
            continue
        parsed = sip_key(payload)
        if parsed is None:
            continue
        packets += 1
        first_ts = ts if first_ts is None else first_ts
        last_ts = ts
        is_req, kind, cseq_method, key = parsed
        label = kind if is_req else f'{kind} {cseq_method}'
        if inbound and not outbound:
            peer = (src, sport)
            if pending[key]:
                retrans_in[label] += 1
            pending[key].append((ts, peer, label))
            if is_req:
                requests.setdefault((key[1], key[2]), (ts, peer, kind))
            continue
        peer = (dst, dport)
        q = pending.get(key)
        # the oldest received copy that came from another peer (a forwarded request goes
        # to the next hop, a relayed response toward the previous one)
        match = None
        # a proxy never relays a 100 (RFC 3261 16.7 step 3): every 100 it sends is its own
        if q and not (not is_req and kind == '100'):
            for i, (t_in, p_in, _l) in enumerate(q):
                if p_in != peer and t_in <= ts:
                    match = i
                    break
        if match is not None:
            t_in, _p, _l = q[match]
            del q[match]
            transits[label].append(ts - t_in)
            if is_req:
                forwarded.add((key[1], key[2]))
            continue
        if not is_req:
            req = requests.get((key[1], key[2]))
            lk = (key[1], key[2], kind)
            # a final answer to a request the proxy forwarded is a relayed one (here without
            # its counterpart: a retransmission, or received before the capture)
            own = kind == '100' or (key[1], key[2]) not in forwarded
            if req is not None and req[1] == peer and own and lk not in answered_locally:
                answered_locally.add(lk)
                if kind >= '2':
                    # the request ends here (a 407 challenge), and so does the ACK of a
                    # non-2xx answer (RFC 3261 17.1.1.3, hop by hop)
                    final_locally.add((key[1], key[2].split(b' ')[0]))
                    pending.pop((True, key[1], key[2], req[2]), None)
                local[f'{req[2]}->{kind} local'].append(ts - req[0])
                continue
            if lk in answered_locally:
                unpaired_out[f'{label} (retransmitted local answer)'] += 1
                continue
        unpaired_out[label] += 1
    unpaired_in = defaultdict(int)
    absorbed = defaultdict(int)
    for key, q in pending.items():
        for _t, _p, label in q:
            # a proxy never relays 100 (RFC 3261 16.7 step 3) and takes the ACK of its own
            # non-2xx answer (17.2.1): expected, counted apart
            if label.startswith('100 ') or (key[3] == 'ACK' and (key[1], key[2].split(b' ')[0]) in final_locally):
                absorbed[label] += 1
            else:
                unpaired_in[label] += 1
    # retransmissions that were received again and never sent on are counted once in
    # unpaired_in per copy; report retransmissions separately
    return dict(packets=packets, span_s=((last_ts - first_ts) / 1e6) if packets else 0.0,
                transits=transits, local=local, unpaired_in=dict(unpaired_in),
                unpaired_out=dict(unpaired_out), absorbed=dict(absorbed), retrans_in=dict(retrans_in))


def stats(values):
    v = sorted(values)
    return dict(count=len(v), p50=percentile(v, 50), p90=percentile(v, 90),
                p99=percentile(v, 99), max=v[-1] if v else float('nan'))


def main(argv):
    summary = '--summary' in argv
    argv = [a for a in argv if a != '--summary']
    json_out = None
    if '--json' in argv:
        i = argv.index('--json')
        json_out = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    r = analyse(argv[0], int(argv[1]), argv[2] if len(argv) > 2 else '127.0.0.1')
    overall = stats([x for v in r['transits'].values() for x in v])
    loc = stats([x for v in r['local'].values() for x in v])
    n_in = sum(r['unpaired_in'].values())
    n_out = sum(r['unpaired_out'].values())
    if json_out:
        with open(json_out, 'w') as f:
            json.dump(dict(overall=overall, local=loc,
                           kinds={k: stats(v) for k, v in r['transits'].items()},
                           local_kinds={k: stats(v) for k, v in r['local'].items()},
                           unpaired_in=r['unpaired_in'], unpaired_out=r['unpaired_out'],
                           absorbed=r['absorbed'], retrans_in=r['retrans_in'], packets=r['packets'],
                           span_s=r['span_s']), f, indent=1)
    if summary:
        print('%d %.0f %.0f %.0f %.0f %d %d %d %.0f' % (
            overall['count'], overall['p50'], overall['p90'], overall['p99'], overall['max'],
            n_in, n_out, loc['count'], loc['p99']))
        return 0
    print(f"{r['packets']} SIP datagrams to/from port {argv[1]} over {r['span_s']:.2f} s")
    print(f"{'kind':<22} {'count':>7} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'max us':>9}")

    def row(name, s):
        print(f"{name:<22} {s['count']:>7} {s['p50']:>8.0f} {s['p90']:>8.0f} {s['p99']:>8.0f} {s['max']:>9.0f}")

    order = lambda k: (k[0].isdigit(), k)   # requests first, then responses
    for k in sorted(r['transits'], key=order):
        row(k, stats(r['transits'][k]))
    row('all relayed', overall)
    for k in sorted(r['local']):
        row(k, stats(r['local'][k]))
    if r['absorbed']:
        print('received and absorbed (100 from the next hop, ACK of a local answer): ' + ', '.join(f'{k} {v}' for k, v in sorted(r['absorbed'].items())))
    if r['unpaired_in']:
        print('received, never sent on: ' + ', '.join(f'{k} {v}' for k, v in sorted(r['unpaired_in'].items())))
    if r['unpaired_out']:
        print('sent, nothing received for it: ' + ', '.join(f'{k} {v}' for k, v in sorted(r['unpaired_out'].items())))
    if r['retrans_in']:
        print('received again (retransmissions): ' + ', '.join(f'{k} {v}' for k, v in sorted(r['retrans_in'].items())))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
