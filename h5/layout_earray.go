package h5

import "math/bits"

// walkExtensibleArray visits the entries of an extensible-array chunk index
// (datasets with one unlimited dimension written with libver="latest").
func (f *File) walkExtensibleArray(l *layout, filtered bool, visit func(i, addr, size uint64, mask uint32) error) error {
	addr := l.addr
	n := uint64(4 + 1 + 1 + 6 + 6*f.lengthSize + f.offsetSize + 4)
	hb, err := f.readBlock(addr, n, "extensible array header")
	if err != nil {
		return err
	}
	c := f.newCursor(hb, addr, "extensible array header")
	c.signature("EAHD")
	c.u8()
	client := c.u8()
	elemSize := int(c.u8())
	maxBits := int(c.u8())
	idxBlkElmts := uint64(c.u8())
	dblkMin := uint64(c.u8())
	sblkMinPtrs := uint64(c.u8())
	pageBits := int(c.u8())
	for i := 0; i < 5; i++ {
		c.length()
	}
	maxIndexSet := c.length()
	iblock := c.addr()
	if c.err != nil {
		return c.err
	}
	if err := f.verifyChecksum(hb, c.pos, addr, "extensible array header"); err != nil {
		return err
	}
	pow2 := func(x uint64) bool { return x != 0 && x&(x-1) == 0 }
	if (client == 1) != filtered || elemSize < f.offsetSize || maxBits == 0 || maxBits > 64 ||
		!pow2(dblkMin) || !pow2(sblkMinPtrs) || pageBits > 32 || bits.Len64(dblkMin)-1 > maxBits {
		return f.formatErr(int64(addr), "extensible array header: bad parameters")
	}
	if iblock == undefAddr {
		return nil
	}
	if maxIndexSet > uint64(f.size) {
		return f.formatErr(int64(addr), "extensible array of %d entries in a %d-byte file", maxIndexSet, f.size)
	}
	nsblks := 1 + maxBits - (bits.Len64(dblkMin) - 1)
	iblockSblks := 2 * (bits.Len64(sblkMinPtrs) - 1)
	ndblkAddrs := int(2 * (sblkMinPtrs - 1))
	nsblkAddrs := max(nsblks-iblockSblks, 0)
	offSize := (maxBits + 7) / 8
	pageN := uint64(1) << pageBits

	decode := func(b []byte, at uint64, first uint64) error {
		ec := f.newCursor(b, at, "extensible array element")
		for k := 0; k < len(b)/elemSize; k++ {
			ec.pos = k * elemSize
			a := ec.addr()
			var size uint64
			var mask uint32
			if filtered {
				size = ec.uvar(elemSize - f.offsetSize - 4)
				mask = ec.u32()
			}
			if ec.err != nil {
				return ec.err
			}
			if a == undefAddr {
				continue
			}
			if err := visit(first+uint64(k), a, size, mask); err != nil {
				return err
			}
		}
		return nil
	}

	prefix := uint64(4 + 1 + 1 + f.offsetSize)
	ibSize := prefix + idxBlkElmts*uint64(elemSize) + uint64(ndblkAddrs+nsblkAddrs)*uint64(f.offsetSize)
	ib, err := f.readBlock(iblock, ibSize+4, "extensible array index block")
	if err != nil {
		return err
	}
	if string(ib[:4]) != "EAIB" {
		return f.formatErr(int64(iblock), "extensible array index block: bad signature")
	}
	if err := f.verifyChecksum(ib, int(ibSize), iblock, "extensible array index block"); err != nil {
		return err
	}
	elemEnd := prefix + idxBlkElmts*uint64(elemSize)
	if err := decode(ib[prefix:elemEnd], iblock+prefix, 0); err != nil {
		return err
	}
	ac := f.newCursor(ib[elemEnd:ibSize], iblock+elemEnd, "extensible array index block")
	dblkAddrs := make([]uint64, ndblkAddrs)
	for i := range dblkAddrs {
		dblkAddrs[i] = ac.addr()
	}
	sblkAddrs := make([]uint64, nsblkAddrs)
	for i := range sblkAddrs {
		sblkAddrs[i] = ac.addr()
	}
	if ac.err != nil {
		return ac.err
	}

	readDataBlock := func(a uint64, nelem, first uint64) error {
		if nelem > pageN {
			return f.unsupported("paged extensible array data blocks")
		}
		hdr := prefix + uint64(offSize)
		size := hdr + nelem*uint64(elemSize)
		b, err := f.readBlock(a, size+4, "extensible array data block")
		if err != nil {
			return err
		}
		if string(b[:4]) != "EADB" {
			return f.formatErr(int64(a), "extensible array data block: bad signature")
		}
		if err := f.verifyChecksum(b, int(size), a, "extensible array data block"); err != nil {
			return err
		}
		return decode(b[hdr:size], a+hdr, first)
	}

	idx := idxBlkElmts
	next := 0 // next direct data block address in the index block
	for u := 0; u < nsblks && idx < maxIndexSet; u++ {
		ndblks := uint64(1) << (u / 2)
		dn := (uint64(1) << ((u + 1) / 2)) * dblkMin
		var addrs []uint64
		if u < iblockSblks {
			end := min(next+int(ndblks), len(dblkAddrs))
			addrs = dblkAddrs[next:end]
			next = end
		} else {
			sa := sblkAddrs[u-iblockSblks]
			if sa != undefAddr {
				sh := prefix + uint64(offSize)
				if dn > pageN {
					return f.unsupported("paged extensible array data blocks")
				}
				ssize := sh + ndblks*uint64(f.offsetSize)
				sb, err := f.readBlock(sa, ssize+4, "extensible array secondary block")
				if err != nil {
					return err
				}
				if string(sb[:4]) != "EASB" {
					return f.formatErr(int64(sa), "extensible array secondary block: bad signature")
				}
				if err := f.verifyChecksum(sb, int(ssize), sa, "extensible array secondary block"); err != nil {
					return err
				}
				sc := f.newCursor(sb[sh:ssize], sa+sh, "extensible array secondary block")
				for i := uint64(0); i < ndblks; i++ {
					addrs = append(addrs, sc.addr())
				}
				if sc.err != nil {
					return sc.err
				}
			}
		}
		for d, a := range addrs {
			if a != undefAddr {
				if err := readDataBlock(a, dn, idx+uint64(d)*dn); err != nil {
					return err
				}
			}
		}
		idx += ndblks * dn
	}
	return nil
}
