/* ETL record decoding: layouts, metadata fields, raw pixel unpacking, and the batch loop that fuses
 * decode -> ke_normalize per record. Offsets and bit fields follow docs/etl-format.md §2-3; LAYOUTS must
 * equal LAYOUTS in kanjiedge/formats.py (checked by tests/test_formats.py). */
#include "ke.h"

#include <string.h>

/* record_bytes, width, height, bpp, image_offset, indexed by KE_T_*. */
static const ke_layout LAYOUTS[KE_NTYPES] = {
    {2052, 64, 63, 4, 32},   /* M */
    {2745, 60, 60, 6, 45},   /* K */
    {2952, 72, 76, 4, 216},  /* C */
    {512, 64, 63, 1, 8},     /* B8 */
    {576, 64, 63, 1, 8},     /* B9 */
    {8199, 128, 127, 4, 60}, /* G8 */
    {8199, 128, 127, 4, 64}, /* G9 */
};

int ke_version(void) { return KE_VERSION; }

int ke_layout_of(int type, ke_layout *out) {
    if (type < 0 || type >= KE_NTYPES || !out) return KE_EARG;
    *out = LAYOUTS[type];
    return KE_OK;
}

/* Big-endian bit field of `nbits` (<= 57) starting at bit `off` (MSB of byte 0 = bit 0). */
static uint64_t bits_at(const uint8_t *p, unsigned off, unsigned nbits) {
    uint64_t v = 0;
    unsigned first = off / 8, last = (off + nbits - 1) / 8;
    for (unsigned i = first; i <= last; i++) v = (v << 8) | p[i];
    unsigned spare = (last + 1) * 8 - (off + nbits); /* bits after the field in the last byte */
    return (v >> spare) & ((UINT64_C(1) << nbits) - 1);
}

static uint32_t u16be(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

static void meta_of(int type, const uint8_t *r, ke_meta *m) {
    m->aux = 0;
    switch (type) {
    case KE_T_M: /* JIS X 0201 at byte 6, sheet at 4-5 */
        m->code = r[6];
        m->sheet = u16be(r + 4);
        break;
    case KE_T_K: /* CO-59 (a, b) = 6-bit chars 29-30 = bits 168-179; style mark = char 7 = bits 36-41 */
        m->code = (uint32_t)bits_at(r, 168, 12);
        m->sheet = 0;
        m->aux = (uint32_t)bits_at(r, 36, 6);
        break;
    case KE_T_C: /* JIS = left 8 bits of chars 13-18 (byte 9); sheet = chars 7-12; class char 25 = bits 144-149 */
        m->code = r[9];
        m->sheet = (uint32_t)bits_at(r, 36, 36);
        m->aux = (uint32_t)bits_at(r, 144, 6);
        break;
    default: /* B and G: sheet at 0-1, JIS X 0208 at 2-3 */
        m->code = u16be(r + 2);
        m->sheet = u16be(r);
        break;
    }
}

int ke_read_meta(int type, const uint8_t *rec, size_t len, ke_meta *out) {
    if (type < 0 || type >= KE_NTYPES || !rec || !out) return KE_EARG;
    if (len < (size_t)LAYOUTS[type].record_bytes) return KE_ETRUNC;
    meta_of(type, rec, out);
    return KE_OK;
}

/* 4 bpp: high nibble = left pixel. n = pixel count (even). */
static void unpack4(const uint8_t *src, size_t n, uint8_t *dst) {
    for (size_t i = 0; i < n / 2; i++) {
        dst[2 * i] = src[i] >> 4;
        dst[2 * i + 1] = src[i] & 15;
    }
}

/* 6 bpp: 4 pixels per 3 bytes, MSB first. n = pixel count (multiple of 4). */
static void unpack6(const uint8_t *src, size_t n, uint8_t *dst) {
    for (size_t i = 0; i < n / 4; i++, src += 3, dst += 4) {
        dst[0] = src[0] >> 2;
        dst[1] = (uint8_t)(((src[0] & 3) << 4) | (src[1] >> 4));
        dst[2] = (uint8_t)(((src[1] & 15) << 2) | (src[2] >> 6));
        dst[3] = src[2] & 63;
    }
}

/* 1 bpp: bit 7 = leftmost pixel, 1 = ink. n = pixel count (multiple of 8). */
static void unpack1(const uint8_t *src, size_t n, uint8_t *dst) {
    for (size_t i = 0; i < n / 8; i++, dst += 8)
        for (int b = 0; b < 8; b++) dst[b] = (src[i] >> (7 - b)) & 1;
}

static void unpack(const ke_layout *l, const uint8_t *rec, uint8_t *dst) {
    size_t n = (size_t)l->width * (size_t)l->height;
    const uint8_t *src = rec + l->image_offset;
    if (l->bpp == 4) unpack4(src, n, dst);
    else if (l->bpp == 6) unpack6(src, n, dst);
    else unpack1(src, n, dst);
}

int ke_decode_raw(int type, const uint8_t *rec, size_t len, uint8_t *out, size_t out_len) {
    if (type < 0 || type >= KE_NTYPES || !rec || !out) return KE_EARG;
    const ke_layout *l = &LAYOUTS[type];
    if (len < (size_t)l->record_bytes) return KE_ETRUNC;
    if (out_len < (size_t)l->width * (size_t)l->height) return KE_EBUF;
    unpack(l, rec, out);
    return KE_OK;
}

static int batch_args_ok(int type, int oh, int ow, int mode) {
    if (type < 0 || type >= KE_NTYPES) return 0;
    if (mode < KE_NORM_NONE || mode > KE_NORM_CLEAN_MOMENT) return 0;
    if (oh == 0 && ow == 0) return mode == KE_NORM_NONE;
    return oh > 0 && ow > 0 && oh <= KE_MAX_OUT && ow <= KE_MAX_OUT;
}

int ke_decode_batch_ex(int type, const uint8_t *data, size_t data_len, size_t n, int oh, int ow, int mode,
                       uint8_t *images, ke_meta *meta, void *work, size_t work_len) {
    if (!data || !images || !batch_args_ok(type, oh, ow, mode)) return KE_EARG;
    const ke_layout *l = &LAYOUTS[type];
    size_t rb = (size_t)l->record_bytes;
    if (n > data_len / rb) return KE_ETRUNC;
    int raw = oh == 0;
    size_t stride = raw ? (size_t)l->width * (size_t)l->height : (size_t)oh * (size_t)ow;
    uint8_t frame[KE_MAX_PIXELS]; /* one decoded record, native size */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *rec = data + i * rb;
        if (meta) meta_of(type, rec, &meta[i]);
        if (raw) {
            unpack(l, rec, images + i * stride);
            continue;
        }
        unpack(l, rec, frame);
        int lv = (1 << l->bpp) - 1, rc;
        uint8_t *out = images + i * stride;
        if (work) rc = ke_normalize_ex(frame, l->height, l->width, lv, oh, ow, mode, out, work, work_len);
        else rc = ke_normalize(frame, l->height, l->width, lv, oh, ow, mode, out);
        if (rc != KE_OK) return rc;
    }
    return KE_OK;
}

int ke_decode_batch(int type, const uint8_t *data, size_t data_len, size_t n, int oh, int ow, int mode,
                    uint8_t *images, ke_meta *meta) {
    return ke_decode_batch_ex(type, data, data_len, n, oh, ow, mode, images, meta, NULL, 0);
}
