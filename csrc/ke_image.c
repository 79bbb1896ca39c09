/* Image resize/normalize: choose a source window (whole frame, ink bounding box, or moments) and area-resample
 * it to the output size. The exact algorithm is specified in ke.h so the web page's JS port can match it.
 *
 * Two resamplers give the same bytes: an exact integer one for windows on the 1/256-pixel grid (every bbox and
 * moment window, and the usual whole-frame resizes such as 128x127 -> 64x64), and a literal double one for the
 * rest. On the grid every weight is a multiple of 1/256, so the doubles of ke.h step 2 hold exact integers (in
 * units of 2^-16 px^2) whatever the order of the sums; the integer sums converted once are the same doubles.
 * Layout of the integer one: 16 output rows at a time; a vertical pass along each row (16-bit), transposed so the
 * 16 rows are SIMD lanes; a horizontal pass per output column over those lanes; bytes; transposed back. */
#include "ke.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h> /* SSE2 blocks give the same bytes as the plain C after each #endif */
#endif

typedef struct {
    double x0, y0, sx, sy; /* source window origin and output-pixel pitch, in source pixels */
} window;

static int ink_threshold(int maxlevel) { return maxlevel / 8 + 1; }

/* ---------------------------------------------------------------------------------------------- windows */

#define KE_STRIP 256 /* columns per strip in the whole-image scans (stack arrays of this size) */

/* Ink bounding box [x0,x1) x [y0,y1) of pixels >= t; returns 0 when there is no ink. Per strip of columns: the
 * column maxima and each row's maximum (vectorizable max), then the box from those. */
static int ink_bbox(const uint8_t *img, int h, int w, int t, int box[4]) {
    uint8_t cmax[KE_STRIP];
    int x0 = w, y0 = h, x1 = 0, y1 = 0;
    for (int c = 0; c < w; c += KE_STRIP) {
        int m = w - c < KE_STRIP ? w - c : KE_STRIP;
        memset(cmax, 0, (size_t)m);
        for (int y = 0; y < h; y++) {
            const uint8_t *row = img + (size_t)y * (size_t)w + c;
            uint8_t rmax = 0;
            for (int k = 0; k < m; k++) {
                cmax[k] = row[k] > cmax[k] ? row[k] : cmax[k];
                rmax = row[k] > rmax ? row[k] : rmax;
            }
            if (rmax < t) continue;
            if (y < y0) y0 = y;
            if (y + 1 > y1) y1 = y + 1;
        }
        int a = 0, b = m;
        while (a < m && cmax[a] < t) a++;
        while (b > a && cmax[b - 1] < t) b--;
        if (a < b && c + a < x0) x0 = c + a;
        if (a < b && c + b > x1) x1 = c + b;
    }
    box[0] = x0, box[1] = y0, box[2] = x1, box[3] = y1;
    return x1 > x0;
}

/* ke.h step 1: origin and pitch onto the 1/256-pixel grid (pitch at least 1/256). */
static void to_grid(window *win) {
    double s = floor(win->sx * 256.0 + 0.5);
    win->sx = win->sy = (s < 1 ? 1 : s) / 256.0;
    win->x0 = floor(win->x0 * 256.0 + 0.5) / 256.0;
    win->y0 = floor(win->y0 * 256.0 + 0.5) / 256.0;
}

static int bbox_window(const uint8_t *img, int h, int w, int t, int oh, int ow, window *win) {
    int b[4];
    if (!ink_bbox(img, h, w, t, b)) return 0;
    double sx = (double)(b[2] - b[0]) / ow, sy = (double)(b[3] - b[1]) / oh;
    double s = sx > sy ? sx : sy;
    win->sx = win->sy = s;
    win->x0 = (b[0] + b[2]) / 2.0 - s * ow / 2;
    win->y0 = (b[1] + b[3]) / 2.0 - s * oh / 2;
    to_grid(win);
    return 1;
}

/* Adds q = v (v >= t) else 0 of row[0..m) to col[0..m); returns the row total of q. Byte-wide select and
 * 16-bit column sums keep the loop vectorizable. */
static uint32_t add_ink_row(const uint8_t *row, int m, uint8_t t, uint16_t *col) {
    uint16_t r = 0; /* m <= 256 pixels of at most 255: 16 bits (narrow lanes vectorize better) */
    for (int k = 0; k < m; k++) {
        uint8_t q = row[k] & (uint8_t)-(row[k] >= t); /* branch-free select */
        col[k] = (uint16_t)(col[k] + q);
        r = (uint16_t)(r + q);
    }
    return r;
}

/* Moment sums of q = v (v >= t) else 0: m, Sx, Sy, Sxx, Syy (integer, exact). Sy, Syy come from row totals and
 * Sx, Sxx from column totals, so the per-pixel work is a select and two additions. Column totals are 16-bit
 * over blocks of at most 257 rows (257 * 255 < 2^16), then flushed into the 64-bit sums. */
static void moment_sums(const uint8_t *img, int h, int w, int t, int64_t s[5]) {
    uint16_t col[KE_STRIP];
    s[0] = s[1] = s[2] = s[3] = s[4] = 0;
    for (int c = 0; c < w; c += KE_STRIP) {
        int m = w - c < KE_STRIP ? w - c : KE_STRIP;
        for (int y0 = 0; y0 < h; y0 += 257) {
            int y1 = h - y0 < 257 ? h : y0 + 257;
            memset(col, 0, sizeof col);
            for (int y = y0; y < y1; y++) {
                int64_t r = add_ink_row(img + (size_t)y * (size_t)w + c, m, (uint8_t)t, col);
                s[0] += r, s[2] += r * y, s[4] += r * y * y;
            }
            for (int k = 0; k < m; k++) {
                int64_t x = c + k;
                s[1] += col[k] * x, s[3] += col[k] * x * x;
            }
        }
    }
}

static int moment_window(const uint8_t *img, int h, int w, int t, int oh, int ow, window *win) {
    int64_t s[5];
    moment_sums(img, h, w, t, s);
    if (s[0] == 0) return 0;
    double m = (double)s[0];
    double mx = (double)s[1] / m, my = (double)s[2] / m;
    double vx = (double)s[3] / m - mx * mx, vy = (double)s[4] / m - my * my;
    double v = vx > vy ? vx : vy;
    double side = 4 * sqrt(v > 0 ? v : 0);
    if (side < 1) side = 1;
    double sc = side / (oh < ow ? oh : ow);
    win->sx = win->sy = sc;
    win->x0 = (mx + 0.5) - sc * ow / 2;
    win->y0 = (my + 0.5) - sc * oh / 2;
    to_grid(win);
    return 1;
}

/* ------------------------------------------------------------------------- integer resampler (1/256 grid) */

#define KE_GRID_ROW 512 /* widest source row the integer resampler takes (stack buffers) */
#define KE_BLOCK 16      /* output rows resampled together: the SIMD lanes of the horizontal pass */

typedef struct {
    int64_t x0, y0; /* window origin, 1/256 px */
    int32_t sx, sy; /* pitch, 1/256 px (>= 1) */
} gwindow;

typedef struct {
    int first, last;       /* source pixels first..last overlap this output pixel (last < first: none) */
    int32_t wfirst, wlast; /* overlap of the first and last pixel in 1/256 px (interior ones: 256) */
} gspan;

/* v * 256 as an integer in [-2^40, 2^40] if it is one; 0 if not. */
static int on_grid(double v, int64_t *out) {
    double g = v * 256.0;
    if (!(g >= -1099511627776.0 && g <= 1099511627776.0) || (double)(int64_t)g != g) return 0;
    *out = (int64_t)g;
    return 1;
}

/* The window on the grid, with bounds that keep the sums below in their integer types: vertical sums
 * (<= sy * maxlevel) below 2^15, output sums (<= sx * sy * maxlevel) below 2^31. */
static int grid_window(const window *win, int w, int maxlevel, gwindow *g) {
    int64_t sx, sy;
    if (w > KE_GRID_ROW || !on_grid(win->x0, &g->x0) || !on_grid(win->y0, &g->y0)) return 0;
    if (!on_grid(win->sx, &sx) || !on_grid(win->sy, &sy) || sx < 1 || sy < 1) return 0;
    if (sy * maxlevel > 32767 || (double)sx * (double)sy * maxlevel >= 2147483647.0) return 0;
    g->sx = (int32_t)sx, g->sy = (int32_t)sy;
    return 1;
}

static gspan gspan_of(int64_t o, int32_t pitch, int k, int n) {
    int64_t a = o + (int64_t)k * pitch, b = a + pitch, end = (int64_t)n << 8;
    gspan sp = {0, -1, 0, 0};
    if (a < 0) a = 0;
    if (b > end) b = end;
    if (b <= a) return sp;
    sp.first = (int)(a >> 8), sp.last = (int)((b - 1) >> 8);
    if (sp.first == sp.last) {
        sp.wfirst = (int32_t)(b - a);
    } else {
        sp.wfirst = (int32_t)(((int64_t)sp.first + 1) * 256 - a);
        sp.wlast = (int32_t)(b - (int64_t)sp.last * 256);
    }
    return sp;
}

static uint16_t gweight(const gspan *sp, int x) {
    return (uint16_t)(x == sp->first ? sp->wfirst : x == sp->last ? sp->wlast : 256);
}

/* Vertical pass for one output row: line[x] = sum over its source rows of wy * v(y, x), x in [xa, xb)
 * (vectorized along the row). An empty span gives zeros. */
static void vertical(const uint8_t *img, int w, const gspan *rs, int xa, int xb, uint16_t *line) {
    if (rs->last < rs->first) {
        for (int x = xa; x < xb; x++) line[x] = 0;
        return;
    }
    const uint8_t *row = img + (size_t)rs->first * (size_t)w;
    uint16_t wf = (uint16_t)rs->wfirst;
    if (rs->last - rs->first <= 2) { /* the usual case (pitch <= 2): one pass, missing rows with weight 0 */
        int n = rs->last - rs->first;
        const uint8_t *r1 = n > 0 ? row + w : row, *r2 = n > 1 ? row + 2 * (size_t)w : row;
        uint16_t w1 = n > 0 ? gweight(rs, rs->first + 1) : 0, w2 = n > 1 ? (uint16_t)rs->wlast : 0;
        for (int x = xa; x < xb; x++) line[x] = (uint16_t)(wf * row[x] + w1 * r1[x] + w2 * r2[x]);
        return;
    }
    for (int x = xa; x < xb; x++) line[x] = (uint16_t)(wf * row[x]);
    for (int y = rs->first + 1; y <= rs->last; y++) {
        uint16_t wy = gweight(rs, y);
        row += w;
        for (int x = xa; x < xb; x++) line[x] = (uint16_t)(line[x] + wy * row[x]);
    }
}

/* t[(x - xa) * KE_BLOCK + r0 + k] = lines[k][x] for k < 8, x in [xa, xb): 8 lines into 8 lanes of t. */
static void lines_to_lanes(const uint16_t (*lines)[KE_GRID_ROW], int xa, int xb, int r0, uint16_t *t) {
    int x = xa;
#if defined(__SSE2__)
    for (; x + 8 <= xb; x += 8) { /* 8x8 transpose of 16-bit values */
        __m128i a[8], b[8], c[8];
        for (int k = 0; k < 8; k++) a[k] = _mm_loadu_si128((const __m128i *)(lines[k] + x));
        for (int k = 0; k < 8; k += 2) {
            b[k] = _mm_unpacklo_epi16(a[k], a[k + 1]);
            b[k + 1] = _mm_unpackhi_epi16(a[k], a[k + 1]);
        }
        for (int k = 0; k < 8; k += 4) {
            c[k] = _mm_unpacklo_epi32(b[k], b[k + 2]);     /* columns 0, 1 of rows k..k+3 */
            c[k + 1] = _mm_unpackhi_epi32(b[k], b[k + 2]); /* columns 2, 3 */
            c[k + 2] = _mm_unpacklo_epi32(b[k + 1], b[k + 3]); /* columns 4, 5 */
            c[k + 3] = _mm_unpackhi_epi32(b[k + 1], b[k + 3]); /* columns 6, 7 */
        }
        uint16_t *d = t + (x - xa) * KE_BLOCK + r0;
        for (int k = 0; k < 4; k++) {
            _mm_storeu_si128((__m128i *)(d + (2 * k) * KE_BLOCK), _mm_unpacklo_epi64(c[k], c[k + 4]));
            _mm_storeu_si128((__m128i *)(d + (2 * k + 1) * KE_BLOCK), _mm_unpackhi_epi64(c[k], c[k + 4]));
        }
    }
#endif
    for (; x < xb; x++)
        for (int k = 0; k < 8; k++) t[(x - xa) * KE_BLOCK + r0 + k] = lines[k][x];
}

/* Horizontal pass of output column `sp` for the KE_BLOCK rows of a block: acc[r] = sum over the column's
 * source pixels of wx * t[x][r] (exact, < 2^31). With SSE2, pixel pairs go through pmaddwd (t < 2^15 and
 * wx <= 256, so the signed 16-bit products and their pair sums are exact). */
static void horizontal(const uint16_t *t, const gspan *sp, int xa, uint32_t *acc) {
    int x = sp->first;
#if defined(__SSE2__)
    __m128i s[KE_BLOCK / 4];
    for (int k = 0; k < KE_BLOCK / 4; k++) s[k] = _mm_setzero_si128();
    for (; x + 1 <= sp->last; x += 2) {
        const uint16_t *c0 = t + (x - xa) * KE_BLOCK, *c1 = c0 + KE_BLOCK;
        __m128i wp = _mm_set1_epi32((int)gweight(sp, x) | (int)gweight(sp, x + 1) << 16);
        for (int k = 0; k < KE_BLOCK / 8; k++) {
            __m128i v0 = _mm_loadu_si128((const __m128i *)(c0 + 8 * k));
            __m128i v1 = _mm_loadu_si128((const __m128i *)(c1 + 8 * k));
            s[2 * k] = _mm_add_epi32(s[2 * k], _mm_madd_epi16(_mm_unpacklo_epi16(v0, v1), wp));
            s[2 * k + 1] = _mm_add_epi32(s[2 * k + 1], _mm_madd_epi16(_mm_unpackhi_epi16(v0, v1), wp));
        }
    }
    for (int k = 0; k < KE_BLOCK / 4; k++) _mm_storeu_si128((__m128i *)(acc + 4 * k), s[k]);
#else
    for (int r = 0; r < KE_BLOCK; r++) acc[r] = 0;
#endif
    for (; x <= sp->last; x++) {
        const uint16_t *col = t + (x - xa) * KE_BLOCK;
        uint16_t wx = gweight(sp, x);
        for (int r = 0; r < KE_BLOCK; r++) acc[r] += (uint32_t)wx * col[r];
    }
}

/* ke.h step 2c: the sums are in 2^-16 px^2, so acc * 2^-16 * scale == acc * f with f = scale * 2^-16 (a power
 * of two changes no rounding). Sums are >= 0, so only the upper clamp can act. */
static void to_bytes(const uint32_t *acc, int n, double f, uint8_t *o) {
    int k = 0;
#if defined(__SSE2__)
    const __m128d vf = _mm_set1_pd(f), half = _mm_set1_pd(0.5);
    for (; k + 16 <= n; k += 16) { /* the same double operations, two lanes at a time */
        __m128i q[4];
        for (int v = 0; v < 4; v++) {
            __m128i a = _mm_loadu_si128((const __m128i *)(acc + k + 4 * v));
            __m128d lo = _mm_add_pd(_mm_mul_pd(_mm_cvtepi32_pd(a), vf), half);
            __m128d hi = _mm_add_pd(_mm_mul_pd(_mm_cvtepi32_pd(_mm_unpackhi_epi64(a, a)), vf), half);
            q[v] = _mm_unpacklo_epi64(_mm_cvttpd_epi32(lo), _mm_cvttpd_epi32(hi));
        }
        /* signed 32->16 then unsigned 16->8 saturation: min(q, 255) for q >= 0 */
        __m128i b = _mm_packus_epi16(_mm_packs_epi32(q[0], q[1]), _mm_packs_epi32(q[2], q[3]));
        _mm_storeu_si128((__m128i *)(o + k), b);
    }
#endif
    for (; k < n; k++) {
        int q = (int)((double)(int32_t)acc[k] * f + 0.5);
        o[k] = (uint8_t)(q > 255 ? 255 : q);
    }
}

/* out[r][j] = bytes[j * KE_BLOCK + r] for r < n, j < m: the block's bytes back into output rows. */
static void lanes_to_rows(const uint8_t *bytes, int m, int n, uint8_t *out, int ow) {
    int j = 0;
#if defined(__SSE2__)
    for (; n == KE_BLOCK && j + 16 <= m; j += 16) { /* 16x16 transpose of bytes (a[k] ends up as row row_of[k]) */
        __m128i a[16], b[16];
        for (int k = 0; k < 16; k++) a[k] = _mm_loadu_si128((const __m128i *)(bytes + (j + k) * KE_BLOCK));
        for (int k = 0; k < 16; k += 2) {
            b[k / 2] = _mm_unpacklo_epi8(a[k], a[k + 1]);
            b[k / 2 + 8] = _mm_unpackhi_epi8(a[k], a[k + 1]);
        }
        for (int k = 0; k < 16; k += 2) {
            a[k / 2] = _mm_unpacklo_epi16(b[k], b[k + 1]);
            a[k / 2 + 8] = _mm_unpackhi_epi16(b[k], b[k + 1]);
        }
        for (int k = 0; k < 16; k += 2) {
            b[k / 2] = _mm_unpacklo_epi32(a[k], a[k + 1]);
            b[k / 2 + 8] = _mm_unpackhi_epi32(a[k], a[k + 1]);
        }
        for (int k = 0; k < 16; k += 2) {
            a[k / 2] = _mm_unpacklo_epi64(b[k], b[k + 1]);
            a[k / 2 + 8] = _mm_unpackhi_epi64(b[k], b[k + 1]);
        }
        static const unsigned char row_of[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
        for (int k = 0; k < 16; k++) _mm_storeu_si128((__m128i *)(out + (size_t)row_of[k] * (size_t)ow + j), a[k]);
    }
#endif
    for (int r = 0; r < n; r++)
        for (int jj = j; jj < m; jj++) out[(size_t)r * (size_t)ow + jj] = bytes[jj * KE_BLOCK + r];
}

#define KE_CHUNK 64 /* output columns per horizontal chunk (stack buffers) */

/* Output rows [i0, i0 + n) (n <= KE_BLOCK): vertical pass per row into the lanes of t, horizontal per column for
 * all lanes at once, bytes, and back into rows. */
static void grid_block(const uint8_t *img, int h, int w, const gwindow *g, const gspan *cols, int ow, int xa,
                       int xb, double f, int i0, int n, uint8_t *out) {
    uint16_t t[(KE_GRID_ROW + 2) * KE_BLOCK], lines[8][KE_GRID_ROW];
    uint32_t acc[KE_CHUNK * KE_BLOCK];
    uint8_t bytes[KE_CHUNK * KE_BLOCK];
    for (int r0 = 0; r0 < KE_BLOCK; r0 += 8) {
        for (int k = 0; k < 8; k++) {
            gspan rs = r0 + k < n ? gspan_of(g->y0, g->sy, i0 + r0 + k, h) : (gspan){0, -1, 0, 0};
            vertical(img, w, &rs, xa, xb, lines[k]);
        }
        lines_to_lanes((const uint16_t(*)[KE_GRID_ROW])lines, xa, xb, r0, t);
    }
    for (int j0 = 0; j0 < ow; j0 += KE_CHUNK) {
        int m = ow - j0 < KE_CHUNK ? ow - j0 : KE_CHUNK;
        for (int j = 0; j < m; j++) horizontal(t, &cols[j0 + j], xa, acc + j * KE_BLOCK);
        to_bytes(acc, m * KE_BLOCK, f, bytes);
        lanes_to_rows(bytes, m, n, out + (size_t)i0 * (size_t)ow + j0, ow);
    }
}

static void resample_grid(const uint8_t *img, int h, int w, int maxlevel, const gwindow *g, int oh, int ow,
                          uint8_t *out) {
    gspan cols[KE_MAX_OUT];
    int xa = w, xb = 0; /* source columns any output column reads */
    for (int j = 0; j < ow; j++) {
        cols[j] = gspan_of(g->x0, g->sx, j, w);
        if (cols[j].last < cols[j].first) continue;
        if (cols[j].first < xa) xa = cols[j].first;
        if (cols[j].last + 1 > xb) xb = cols[j].last + 1;
    }
    if (xb <= xa) {
        memset(out, 0, (size_t)oh * (size_t)ow);
        return;
    }
    double f = 255.0 / ((g->sx / 256.0) * (g->sy / 256.0) * (double)maxlevel) * (1.0 / 65536.0);
    for (int i0 = 0; i0 < oh; i0 += KE_BLOCK)
        grid_block(img, h, w, g, cols, ow, xa, xb, f, i0, oh - i0 < KE_BLOCK ? oh - i0 : KE_BLOCK, out);
}

/* ------------------------------------------------------------------------------ double resampler (ke.h) */

typedef struct {
    int first, last;      /* source pixels first..last overlap this output pixel (last < first: none) */
    double wfirst, wlast; /* overlap of the first and last pixel (interior ones overlap fully) */
} span;

/* Overlap of output pixel k (pitch `pitch`, origin `o`) with source pixels 0..n-1. */
static span span_of(double o, double pitch, int k, int n) {
    double a = o + k * pitch, b = a + pitch;
    span sp = {0, -1, 0.0, 0.0};
    if (a < 0) a = 0;
    if (b > n) b = n;
    if (b <= a) return sp;
    sp.first = (int)a; /* = floor(a) and ceil(b) - 1, as 0 <= a < b */
    sp.last = (int)b - ((double)(int)b == b);
    if (sp.last >= n) sp.last = n - 1;
    if (sp.first == sp.last) {
        sp.wfirst = b - a;
    } else {
        sp.wfirst = (sp.first + 1) - a;
        sp.wlast = b - sp.last;
    }
    return sp;
}

/* Horizontal sums of one source row (ke.h step 2b inner sum): h[j] = sum over the span, left to right, of
 * wx * v, started at 0.0 (0.0 + x == x, so the first term is taken as is). */
static void row_sums(const uint8_t *row, const span *cols, int ow, double *h) {
    for (int j = 0; j < ow; j++) {
        const span *sp = &cols[j];
        int n = sp->last - sp->first;
        if (n < 0) {
            h[j] = 0.0;
            continue;
        }
        const uint8_t *p = row + sp->first;
        double r = sp->wfirst * p[0];
        for (int k = 1; k < n; k++) r += p[k];
        h[j] = n > 0 ? r + sp->wlast * p[n] : r;
    }
}

/* ke.h step 2 as written, for windows off the 1/256 grid (whole-frame resizes to sizes such as 48). */
static void resample_double(const uint8_t *img, int h, int w, int maxlevel, const window *win, int oh, int ow,
                            uint8_t *out) {
    span cols[KE_MAX_OUT];
    double acc[KE_MAX_OUT], hs[KE_MAX_OUT];
    for (int j = 0; j < ow; j++) cols[j] = span_of(win->x0, win->sx, j, w);
    double scale = 255.0 / (win->sx * win->sy * (double)maxlevel);
    for (int i = 0; i < oh; i++) {
        span rs = span_of(win->y0, win->sy, i, h);
        for (int j = 0; j < ow; j++) acc[j] = 0.0;
        for (int y = rs.first; y <= rs.last; y++) {
            double wy = y == rs.first ? rs.wfirst : y == rs.last ? rs.wlast : 1.0;
            row_sums(img + (size_t)y * (size_t)w, cols, ow, hs);
            for (int j = 0; j < ow; j++) acc[j] += wy * hs[j];
        }
        for (int j = 0; j < ow; j++) {
            int q = (int)(acc[j] * scale + 0.5);
            out[(size_t)i * (size_t)ow + j] = (uint8_t)(q > 255 ? 255 : q);
        }
    }
}

/* Bytes of a cleaned frame plus ke_clean's work, cleaned frame first (run records need 8-byte alignment). */
size_t ke_normalize_work_size(int h, int w, int mode) {
    if (mode != KE_NORM_CLEAN_BBOX && mode != KE_NORM_CLEAN_MOMENT) return 0;
    size_t clean = ke_clean_work_size(h, w);
    return clean ? (((size_t)h * (size_t)w + 7) & ~(size_t)7) + clean : 0;
}

int ke_normalize_ex(const uint8_t *img, int h, int w, int maxlevel, int oh, int ow, int mode, uint8_t *out,
                    void *work, size_t work_len) {
    if (!img || !out || h <= 0 || w <= 0 || maxlevel < 1 || maxlevel > 255) return KE_EARG;
    if (oh <= 0 || ow <= 0 || oh > KE_MAX_OUT || ow > KE_MAX_OUT) return KE_EARG;
    if (mode == KE_NORM_CLEAN_BBOX || mode == KE_NORM_CLEAN_MOMENT) {
        size_t need = ke_normalize_work_size(h, w, mode), frame = need - ke_clean_work_size(h, w);
        if (need == 0) return KE_EARG;
        if (!work || work_len < need) return KE_EBUF;
        uint8_t *clean = (uint8_t *)work;
        int rc = ke_clean(img, h, w, maxlevel, clean, clean + frame, need - frame);
        if (rc != KE_OK) return rc;
        img = clean;
        mode = mode == KE_NORM_CLEAN_BBOX ? KE_NORM_BBOX : KE_NORM_MOMENT;
    }
    window win = {0.0, 0.0, (double)w / ow, (double)h / oh};
    int t = ink_threshold(maxlevel), ink = 1;
    if (mode == KE_NORM_BBOX) ink = bbox_window(img, h, w, t, oh, ow, &win);
    else if (mode == KE_NORM_MOMENT) ink = moment_window(img, h, w, t, oh, ow, &win);
    else if (mode != KE_NORM_NONE) return KE_EARG;
    gwindow g;
    if (!ink) memset(out, 0, (size_t)oh * (size_t)ow);
    else if (grid_window(&win, w, maxlevel, &g)) resample_grid(img, h, w, maxlevel, &g, oh, ow, out);
    else resample_double(img, h, w, maxlevel, &win, oh, ow, out);
    return KE_OK;
}

/* Stack work for the cleaned modes: a cleaned G-type frame (the largest native one) and its run records. */
#define KE_STACK_WORK (KE_MAX_PIXELS + 16 * 127 * 64 + 4 * 128 + 64)

int ke_normalize(const uint8_t *img, int h, int w, int maxlevel, int oh, int ow, int mode, uint8_t *out) {
    uint64_t work[KE_STACK_WORK / 8];
    return ke_normalize_ex(img, h, w, maxlevel, oh, ow, mode, out, work, sizeof work);
}
