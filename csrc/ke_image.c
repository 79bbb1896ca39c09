/* Image resize/normalize: choose a source window (whole frame, ink bounding box, or moments) and area-resample
 * it to the output size. The exact algorithm is specified in ke.h so the web page's JS port can match it. */
#include "ke.h"

#include <math.h>
#include <string.h>

typedef struct {
    double x0, y0, sx, sy; /* source window origin and output-pixel pitch, in source pixels */
} window;

typedef struct {
    int first, last;     /* source pixels first..last overlap this output pixel (last < first: none) */
    double wfirst, wlast; /* overlap of the first and last pixel (interior ones overlap fully) */
} span;

static int ink_threshold(int maxlevel) { return maxlevel / 8 + 1; }

/* Index of the first pixel >= t in row[a..b) (b if none). Eight pixels at a time: a byte v (masked to 7 bits,
 * so no carry crosses bytes) plus 128 - t reaches 128 exactly when v >= t, for 1 <= t <= 128. */
static int first_ink(const uint8_t *row, int a, int b, int t) {
    const uint64_t lo7 = UINT64_C(0x7F7F7F7F7F7F7F7F), hi = UINT64_C(0x8080808080808080);
    const uint64_t add = (uint64_t)(128 - t) * UINT64_C(0x0101010101010101);
    if (t <= 128) {
        for (; a + 8 <= b; a += 8) {
            uint64_t v;
            memcpy(&v, row + a, 8);
            if ((((v & lo7) + add) | v) & hi) break;
        }
    }
    while (a < b && row[a] < t) a++;
    return a;
}

/* Index of the last pixel >= t in row[a..b) (a - 1 if none), eight pixels at a time like first_ink. */
static int last_ink(const uint8_t *row, int a, int b, int t) {
    const uint64_t lo7 = UINT64_C(0x7F7F7F7F7F7F7F7F), hi = UINT64_C(0x8080808080808080);
    const uint64_t add = (uint64_t)(128 - t) * UINT64_C(0x0101010101010101);
    if (t <= 128) {
        for (; b - 8 >= a; b -= 8) {
            uint64_t v;
            memcpy(&v, row + b - 8, 8);
            if ((((v & lo7) + add) | v) & hi) break;
        }
    }
    while (b > a && row[b - 1] < t) b--;
    return b - 1;
}

/* Ink bounding box [x0,x1) x [y0,y1) of pixels >= t; returns 0 when there is no ink. */
static int ink_bbox(const uint8_t *img, int h, int w, int t, int box[4]) {
    int x0 = w, y0 = h, x1 = 0, y1 = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * (size_t)w;
        int a = first_ink(row, 0, w, t);
        if (a == w) continue;
        int b = last_ink(row, a, w, t);
        if (a < x0) x0 = a;
        if (b + 1 > x1) x1 = b + 1;
        if (y < y0) y0 = y;
        y1 = y + 1;
    }
    box[0] = x0, box[1] = y0, box[2] = x1, box[3] = y1;
    return x1 > x0;
}

static int bbox_window(const uint8_t *img, int h, int w, int t, int oh, int ow, window *win) {
    int b[4];
    if (!ink_bbox(img, h, w, t, b)) return 0;
    double sx = (double)(b[2] - b[0]) / ow, sy = (double)(b[3] - b[1]) / oh;
    double s = sx > sy ? sx : sy;
    win->sx = win->sy = s;
    win->x0 = (b[0] + b[2]) / 2.0 - s * ow / 2;
    win->y0 = (b[1] + b[3]) / 2.0 - s * oh / 2;
    return 1;
}

/* Moment sums of q = v (v >= t) else 0: m, Sx, Sy, Sxx, Syy (integer, exact), over the ink bounding box
 * `box` (q is 0 outside it). Sx and Sxx come from column totals and Sy, Syy from row totals, so the per-pixel
 * work is two additions. Column totals are 32-bit: at most 255 * 2^23 rows before they could overflow. */
static void moment_sums(const uint8_t *img, int w, int t, const int box[4], int64_t s[5]) {
    uint32_t col[256];
    int x0 = box[0], n = box[2] - box[0];
    s[0] = s[1] = s[2] = s[3] = s[4] = 0;
    for (int c = 0; c < n; c += 256) { /* strips of at most 256 columns keep col[] on the stack */
        int m = n - c < 256 ? n - c : 256;
        for (int k = 0; k < m; k++) col[k] = 0;
        for (int y = box[1]; y < box[3]; y++) {
            const uint8_t *row = img + (size_t)y * (size_t)w + x0 + c;
            uint32_t r = 0;
            for (int k = 0; k < m; k++) {
                uint32_t q = row[k] >= t ? row[k] : 0;
                col[k] += q, r += q;
            }
            s[2] += (int64_t)r * y, s[4] += (int64_t)r * y * y;
        }
        for (int k = 0; k < m; k++) {
            int64_t x = x0 + c + k;
            s[0] += col[k], s[1] += col[k] * x, s[3] += col[k] * x * x;
        }
    }
}

static int moment_window(const uint8_t *img, int h, int w, int t, int oh, int ow, window *win) {
    int64_t s[5];
    int box[4];
    if (!ink_bbox(img, h, w, t, box)) return 0;
    moment_sums(img, w, t, box, s);
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
    return 1;
}

/* Overlap of output pixel k (pitch `pitch`, origin `o`) with source pixels 0..n-1. */
static span span_of(double o, double pitch, int k, int n) {
    double a = o + k * pitch, b = a + pitch;
    span sp = {0, -1, 0.0, 0.0};
    if (a < 0) a = 0;
    if (b > n) b = n;
    if (b <= a) return sp;
    sp.first = (int)a; /* = floor(a) and ceil(b) - 1, as 0 <= a < b (no libm call on baseline x86-64) */
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

/* ke.h step 2c for one output row, fused with its last source row: (int)((acc + wy * hs) * scale + 0.5)
 * clamped to 0..255 (acc == NULL: the row has one source row, and 0.0 + wy * hs is exactly wy * hs). The sum is
 * >= 0 (non-negative weights times levels), so only the upper clamp can act; done on the int, it vectorizes. */
static void add_to_bytes(const double *acc, const double *hs, double wy, int ow, double scale, uint8_t *o) {
    if (!acc) {
        for (int j = 0; j < ow; j++) {
            int q = (int)(wy * hs[j] * scale + 0.5);
            o[j] = (uint8_t)(q > 255 ? 255 : q);
        }
        return;
    }
    for (int j = 0; j < ow; j++) {
        int q = (int)((acc[j] + wy * hs[j]) * scale + 0.5);
        o[j] = (uint8_t)(q > 255 ? 255 : q);
    }
}

/* 1 when every column span has unit weights, so its sum is an exact integer whatever the order. */
static int unit_spans(const span *cols, int ow) {
    for (int j = 0; j < ow; j++) {
        const span *sp = &cols[j];
        if (sp->last < sp->first) continue;
        if (sp->wfirst != 1.0 || (sp->last > sp->first && sp->wlast != 1.0)) return 0;
    }
    return 1;
}

/* Horizontal pass for one source row (ke.h step 2b inner sum): h[j] = sum over the span, left to right, of
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

/* The same sums when every weight is 1 (integer-aligned window, integer pitch): exact integers, so integer
 * arithmetic gives bit-identical doubles; pitch 2 from column 0 (128 -> 64) has its own vectorizable loop. */
static void row_sums_unit(const uint8_t *row, const span *cols, int ow, double *h) {
    if (ow > 1 && cols[0].first == 0 && cols[0].last == 1 && cols[ow - 1].first == 2 * (ow - 1) &&
        cols[ow - 1].last == 2 * ow - 1) {
        for (int j = 0; j < ow; j++) h[j] = (double)(row[2 * j] + row[2 * j + 1]);
        return;
    }
    for (int j = 0; j < ow; j++) {
        int r = 0;
        for (int x = cols[j].first; x <= cols[j].last; x++) r += row[x];
        h[j] = (double)r;
    }
}

/* Three consecutive source pixels per output column with their weights, zero-padded: used when no span is
 * longer than 3 pixels (pitch <= 2). A zero weight adds +0.0 to a non-negative sum, which changes nothing,
 * so ((w0*p0 + w1*p1) + w2*p2) is bit-identical to the span sum of ke.h step 2b without any branches. */
typedef struct {
    int start;
    double wt[3];
} taps3;

#define KE_TAPS_MAX 256 /* output columns */
#define KE_TAPS_ROW 512 /* source row width */

static int make_taps3(const span *cols, int ow, int w, taps3 *t) {
    if (ow > KE_TAPS_MAX || w < 3 || w > KE_TAPS_ROW) return 0;
    for (int j = 0; j < ow; j++) {
        const span *sp = &cols[j];
        if (sp->last - sp->first > 2) return 0;
        int st = sp->first < w - 3 ? sp->first : w - 3;
        t[j].start = st;
        t[j].wt[0] = t[j].wt[1] = t[j].wt[2] = 0.0;
        for (int x = sp->first; x <= sp->last; x++)
            t[j].wt[x - st] = x == sp->first ? sp->wfirst : x == sp->last ? sp->wlast : 1.0;
    }
    return 1;
}

static void row_sums3(const uint8_t *row, int w, const taps3 *t, int ow, double *h) {
    double v[KE_TAPS_ROW]; /* the row as doubles: one vectorized conversion instead of three per column */
    for (int x = 0; x < w; x++) v[x] = row[x];
    for (int j = 0; j < ow; j++) {
        const double *p = v + t[j].start;
        h[j] = (t[j].wt[0] * p[0] + t[j].wt[1] * p[1]) + t[j].wt[2] * p[2];
    }
}

/* Area resampling (ke.h step 2). Each source row's horizontal sums are computed once and reused by every
 * output row that overlaps it (rows are visited in increasing order, so caching the last one is enough). */
static void resample(const uint8_t *img, int h, int w, int maxlevel, const window *win, int oh, int ow,
                     uint8_t *out) {
    span cols[KE_MAX_OUT];
    double acc[KE_MAX_OUT], hs[KE_MAX_OUT];
    int cached = -1; /* source row whose sums are in hs */
    for (int j = 0; j < ow; j++) cols[j] = span_of(win->x0, win->sx, j, w);
    taps3 taps[KE_TAPS_MAX];
    int unit = unit_spans(cols, ow), three = !unit && make_taps3(cols, ow, w, taps);
    double scale = 255.0 / (win->sx * win->sy * (double)maxlevel);
    for (int i = 0; i < oh; i++) {
        span rs = span_of(win->y0, win->sy, i, h);
        uint8_t *o = out + (size_t)i * (size_t)ow;
        for (int y = rs.first; y <= rs.last; y++) {
            double wy = y == rs.first ? rs.wfirst : y == rs.last ? rs.wlast : 1.0;
            const uint8_t *row = img + (size_t)y * (size_t)w;
            if (y != cached && unit) row_sums_unit(row, cols, ow, hs);
            else if (y != cached && three) row_sums3(row, w, taps, ow, hs);
            else if (y != cached) row_sums(row, cols, ow, hs);
            cached = y;
            if (y == rs.last) /* the last row's terms go straight into the bytes (one pass less) */
                add_to_bytes(y == rs.first ? NULL : acc, hs, wy, ow, scale, o);
            else if (y == rs.first) /* acc = 0.0 + wy * hs is exactly wy * hs */
                for (int j = 0; j < ow; j++) acc[j] = wy * hs[j];
            else
                for (int j = 0; j < ow; j++) acc[j] += wy * hs[j];
        }
        if (rs.last < rs.first)
            for (int j = 0; j < ow; j++) o[j] = 0;
    }
}

int ke_normalize(const uint8_t *img, int h, int w, int maxlevel, int oh, int ow, int mode, uint8_t *out) {
    if (!img || !out || h <= 0 || w <= 0 || maxlevel < 1 || maxlevel > 255) return KE_EARG;
    if (oh <= 0 || ow <= 0 || oh > KE_MAX_OUT || ow > KE_MAX_OUT) return KE_EARG;
    window win = {0.0, 0.0, (double)w / ow, (double)h / oh};
    int t = ink_threshold(maxlevel), ink = 1;
    if (mode == KE_NORM_BBOX) ink = bbox_window(img, h, w, t, oh, ow, &win);
    else if (mode == KE_NORM_MOMENT) ink = moment_window(img, h, w, t, oh, ow, &win);
    else if (mode != KE_NORM_NONE) return KE_EARG;
    if (!ink) {
        for (size_t k = 0; k < (size_t)oh * (size_t)ow; k++) out[k] = 0;
        return KE_OK;
    }
    resample(img, h, w, maxlevel, &win, oh, ow, out);
    return KE_OK;
}
