/* Cleaning before normalization (ke.h "Cleaning algorithm"): paper level and noise floor out, faint ink stretched
 * to full contrast, ink components found, edge fragments of neighbouring characters and isolated specks dropped.
 *
 * Components are found on runs, not pixels: each row's ink is cut into runs [x0, x1), a run is joined (union-find
 * with path halving, the smaller index always the root, no recursion) to every run of the row above that touches it
 * with 8-connectivity. Runs are far fewer than pixels, so the labelling costs one scan of the image plus a little
 * per run; memory is one fixed-size record per possible run, from a caller buffer (ke_clean_work_size). */
#include "ke.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    int32_t parent;      /* union-find parent (a run index <= this one) */
    uint32_t sum;        /* this run's ink S (sum of v - P); for a root after resolve(): the component's */
    uint16_t x0, x1;     /* pixels [x0, x1) of its row */
    uint8_t edge, drop;  /* touches the border band; dropped (roots only, after decide()) */
} ke_run;
_Static_assert(sizeof(ke_run) <= 16, "KE_STACK_WORK in ke_image.c counts 16 bytes per run");

typedef struct {
    int paper, floor_, high, range; /* P, T, I, R = I - P of ke.h steps C1-C3 (T = 256: no pixel is ink) */
    uint8_t lut[256];               /* level -> stretched level (0 below T) */
} levels;

static int max_runs(int h, int w) { return h * ((w + 1) / 2); }

size_t ke_clean_work_size(int h, int w) {
    if (h <= 0 || w <= 0 || w > 65535 || (int64_t)h * w > KE_CLEAN_MAX_PIXELS) return 0;
    return (size_t)max_runs(h, w) * sizeof(ke_run) + ((size_t)h + 1) * sizeof(int32_t);
}

/* ------------------------------------------------------------------------------------------- levels (C1-C3) */

static int64_t count_zeros(const uint8_t *img, size_t n) {
    int64_t z = 0;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    while (i + 16 <= n) { /* per-byte counters (-1 per zero) for at most 255 blocks, then summed by psadbw */
        __m128i acc = zero;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(img + i)), zero));
        __m128i s = _mm_sad_epu8(acc, zero);
        z += _mm_cvtsi128_si32(s) + _mm_cvtsi128_si32(_mm_unpackhi_epi64(s, s));
    }
#endif
    for (; i < n; i++) z += img[i] == 0;
    return z;
}

static void histogram(const uint8_t *img, size_t n, uint32_t hist[256]) {
    uint32_t part[4][256];
    memset(part, 0, sizeof part);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) { /* four partial histograms: no store-to-load stall on runs of one level */
        part[0][img[i]]++, part[1][img[i + 1]]++, part[2][img[i + 2]]++, part[3][img[i + 3]]++;
    }
    for (; i < n; i++) part[0][img[i]]++;
    for (int v = 0; v < 256; v++) hist[v] = part[0][v] + part[1][v] + part[2][v] + part[3][v];
}

/* C1-C2: paper level P and ink floor T. Paper at level 0 (the usual frame: half the pixels or more are 0) needs
 * only a count of zeros; otherwise a histogram. */
static void paper_and_floor(const uint8_t *img, int h, int w, int maxlevel, levels *lv) {
    int64_t n = (int64_t)h * w, zeros = count_zeros(img, (size_t)n), dev = 0, below = zeros;
    int p = 0;
    if (2 * zeros < n) {
        uint32_t hist[256];
        int64_t cum = 0;
        histogram(img, (size_t)n, hist);
        while (2 * (cum + hist[p]) < n) cum += hist[p++];
        below = 0;
        for (int v = 0; v <= p; v++) dev += (int64_t)(p - v) * hist[v], below += hist[v];
    }
    int64_t noise = (5 * dev + 2 * below - 1) / (2 * below), t = maxlevel / 8 + 1;
    lv->paper = p;
    lv->floor_ = (int)(p + (noise > t ? noise : t) > 256 ? 256 : p + (noise > t ? noise : t));
}

static int64_t ink_count(const uint32_t ink_hist[256], int floor_) {
    int64_t k = 0;
    for (int v = floor_; v < 256; v++) k += ink_hist[v];
    return k;
}

/* C3: ink level I (90th percentile of the ink histogram) and the stretch table. */
static void stretch(const uint32_t ink_hist[256], int64_t ink, int maxlevel, levels *lv) {
    int64_t acc = 0;
    int hi = lv->floor_;
    while (10 * (acc + ink_hist[hi]) < 9 * ink) acc += ink_hist[hi++];
    int64_t r = hi - lv->paper; /* >= t >= 1 */
    int top = 255; /* the table is needed only up to the highest ink level present */
    while (top > lv->floor_ && ink_hist[top] == 0) top--;
    lv->high = hi, lv->range = r;
    memset(lv->lut, 0, sizeof lv->lut);
    for (int v = lv->floor_; v <= top; v++) {
        int64_t s = v < lv->floor_ ? 0 : ((int64_t)(v - lv->paper) * maxlevel + r / 2) / r;
        lv->lut[v] = (uint8_t)(s > maxlevel ? maxlevel : s);
    }
}

/* ------------------------------------------------------------------------------------------ components (C4) */

static int32_t find(ke_run *runs, int32_t k) {
    while (runs[k].parent != k) {
        runs[k].parent = runs[runs[k].parent].parent; /* path halving */
        k = runs[k].parent;
    }
    return k;
}

static void unite(ke_run *runs, int32_t a, int32_t b) {
    a = find(runs, a), b = find(runs, b);
    if (a < b) runs[b].parent = a;
    else if (b < a) runs[a].parent = b;
}

/* bits[x / 64] bit x % 64 = row[x] >= t, for x < w (bits past w are 0). */
static void row_mask(const uint8_t *row, int w, uint8_t t, uint64_t *bits) {
    int x = 0;
#if defined(__SSE2__)
    const __m128i vt = _mm_set1_epi8((char)t);
    for (; x + 64 <= w; x += 64) {
        uint64_t m = 0;
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(row + x + 16 * k));
            m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, vt), v)) << (16 * k);
        }
        bits[x >> 6] = m;
    }
#endif
    for (; x < w; x += 64) {
        uint64_t m = 0;
        for (int k = 0; k < 64 && x + k < w; k++) m |= (uint64_t)(row[x + k] >= t) << k;
        bits[x >> 6] = m;
    }
}

static int lowest_bit(uint64_t v) {
#if defined(__GNUC__)
    return __builtin_ctzll(v);
#else
    int k = 0;
    while (!(v & 1)) v >>= 1, k++;
    return k;
#endif
}

/* First x' >= x with bit x' == set, or w. */
static int next_bit(const uint64_t *bits, int w, int x, int set) {
    while (x < w) {
        uint64_t word = set ? bits[x >> 6] : ~bits[x >> 6];
        word >>= x & 63;
        if (word) return x + lowest_bit(word) < w ? x + lowest_bit(word) : w;
        x = (x | 63) + 1;
    }
    return w;
}

/* Runs of ink (v >= T) of row y into runs[n..] (their ink S and the ink histogram counted), each joined to the
 * runs [pa, pb) of the row above that it touches. Returns the new run count. */
static int32_t row_runs(const uint8_t *row, const uint64_t *bits, int y, int h, int w, int band, const levels *lv,
                        uint32_t (*ink_hist)[256], ke_run *runs, int32_t n, int32_t pa, int32_t pb) {
    for (int x0 = next_bit(bits, w, 0, 1); x0 < w; x0 = next_bit(bits, w, x0, 1)) {
        int x1 = next_bit(bits, w, x0, 0);
        uint32_t sum = 0;
        for (int x = x0; x < x1; x++) /* 4 partial histograms: a stroke's run of equal levels does not stall */
            sum += (uint32_t)(row[x] - lv->paper), ink_hist[x & 3][row[x]]++;
        ke_run *r = &runs[n];
        r->parent = n, r->sum = sum, r->x0 = (uint16_t)x0, r->x1 = (uint16_t)x1, r->drop = 0;
        r->edge = (uint8_t)(y < band || y >= h - band || x0 < band || x1 > w - band);
        while (pa < pb && runs[pa].x1 < x0) pa++; /* runs above ending left of x0 - 1 can touch no later run */
        for (int32_t k = pa; k < pb && runs[k].x0 <= x1; k++) unite(runs, k, n);
        n++;
        x0 = x1;
    }
    return n;
}

/* Every run points at its root; roots hold their component's ink sum and edge flag. */
static void resolve(ke_run *runs, int32_t n) {
    for (int32_t k = 0; k < n; k++) {
        int32_t r = find(runs, k);
        runs[k].parent = r;
        if (r != k) runs[r].sum += runs[k].sum, runs[r].edge |= runs[k].edge;
    }
}

/* ------------------------------------------------------------------------------------------- decisions (C5) */

static void decide(ke_run *runs, int32_t n, int64_t speck) {
    int64_t total = 0, frag = 0, specks = 0;
    int32_t big = -1;
    for (int32_t k = 0; k < n; k++) {
        if (runs[k].parent != k) continue;
        total += runs[k].sum;
        if (big < 0 || runs[k].sum > runs[big].sum) big = k;
    }
    for (int32_t k = 0; k < n; k++) {
        ke_run *r = &runs[k];
        if (r->parent != k || k == big) continue;
        if (r->sum < speck) r->drop = 1, specks += r->sum;
        else if (r->edge && 4 * (int64_t)r->sum < total) r->drop = 2, frag += r->sum;
    }
    if (2 * frag > total - specks) /* fragments hold most of the ink: they are the character */
        for (int32_t k = 0; k < n; k++)
            if (runs[k].drop == 2) runs[k].drop = 0;
}

/* Rows into runs, joined into components; returns the run count, `start` the first run of each row. */
static int32_t label(const uint8_t *img, int h, int w, const levels *lv, uint32_t (*ink_hist)[256], ke_run *runs,
                     int32_t *start) {
    uint64_t bits[(65535 + 63) / 64];
    int band = 1 + (h < w ? h : w) / 64;
    int32_t n = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * (size_t)w;
        row_mask(row, w, (uint8_t)lv->floor_, bits);
        int32_t pa = y ? start[y - 1] : 0;
        start[y] = n;
        n = row_runs(row, bits, y, h, w, band, lv, ink_hist, runs, n, pa, n);
    }
    start[h] = n;
    return n;
}

int ke_clean(const uint8_t *img, int h, int w, int maxlevel, uint8_t *out, void *work, size_t work_len) {
    if (!img || !out || maxlevel < 1 || maxlevel > 255) return KE_EARG;
    size_t need = ke_clean_work_size(h, w);
    if (need == 0) return KE_EARG;
    if (!work || work_len < need) return KE_EBUF;
    memset(out, 0, (size_t)h * (size_t)w);
    levels lv;
    paper_and_floor(img, h, w, maxlevel, &lv);
    if (lv.floor_ > 255) return KE_OK;
    ke_run *runs = (ke_run *)work;
    int32_t *start = (int32_t *)(runs + max_runs(h, w)); /* first run of each row; start[h] = run count */
    uint32_t parts[4][256], ink_hist[256];
    memset(parts, 0, sizeof parts);
    int32_t n = label(img, h, w, &lv, parts, runs, start);
    if (n == 0) return KE_OK;
    for (int v = 0; v < 256; v++) ink_hist[v] = parts[0][v] + parts[1][v] + parts[2][v] + parts[3][v];
    stretch(ink_hist, ink_count(ink_hist, lv.floor_), maxlevel, &lv);
    resolve(runs, n);
    int64_t area = (int64_t)h * w / 1024;
    decide(runs, n, lv.range * (area > 1 ? area : 1));
    for (int y = 0; y < h; y++)
        for (int32_t k = start[y]; k < start[y + 1]; k++) {
            if (runs[runs[k].parent].drop) continue;
            const uint8_t *row = img + (size_t)y * (size_t)w;
            uint8_t *o = out + (size_t)y * (size_t)w;
            for (int x = runs[k].x0; x < runs[k].x1; x++) o[x] = lv.lut[row[x]];
        }
    return KE_OK;
}
