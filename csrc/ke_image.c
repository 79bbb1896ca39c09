/* Image resize/normalize: choose a source window (whole frame, ink bounding box, or moments) and area-resample
 * it to the output size. The exact algorithm is specified in ke.h so the web page's JS port can match it. */
#include "ke.h"

#include <math.h>

typedef struct {
    double x0, y0, sx, sy; /* source window origin and output-pixel pitch, in source pixels */
} window;

typedef struct {
    int first, last;     /* source pixels first..last overlap this output pixel (last < first: none) */
    double wfirst, wlast; /* overlap of the first and last pixel (interior ones overlap fully) */
} span;

static int ink_threshold(int maxlevel) { return maxlevel / 8 + 1; }

/* Ink bounding box [x0,x1) x [y0,y1) of pixels >= t; returns 0 when there is no ink. */
static int ink_bbox(const uint8_t *img, int h, int w, int t, int box[4]) {
    int x0 = w, y0 = h, x1 = 0, y1 = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            if (row[x] < t) continue;
            if (x < x0) x0 = x;
            if (x >= x1) x1 = x + 1;
            if (y < y0) y0 = y;
            y1 = y + 1;
        }
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

/* Moment sums of q = v (v >= t) else 0: m, Sx, Sy, Sxx, Syy (integer, exact). */
static void moment_sums(const uint8_t *img, int h, int w, int t, int64_t s[5]) {
    s[0] = s[1] = s[2] = s[3] = s[4] = 0;
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * (size_t)w;
        int64_t rm = 0, rx = 0, rxx = 0; /* per-row sums keep the y terms out of the inner loop */
        for (int x = 0; x < w; x++) {
            int64_t q = row[x] >= t ? row[x] : 0;
            rm += q, rx += q * x, rxx += q * x * x;
        }
        s[0] += rm, s[1] += rx, s[3] += rxx;
        s[2] += rm * y, s[4] += rm * y * y;
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
    return 1;
}

/* Overlap of output pixel k (pitch `pitch`, origin `o`) with source pixels 0..n-1. */
static span span_of(double o, double pitch, int k, int n) {
    double a = o + k * pitch, b = a + pitch;
    span sp = {0, -1, 0.0, 0.0};
    if (a < 0) a = 0;
    if (b > n) b = n;
    if (b <= a) return sp;
    sp.first = (int)floor(a);
    sp.last = (int)ceil(b) - 1;
    if (sp.last >= n) sp.last = n - 1;
    if (sp.first == sp.last) {
        sp.wfirst = b - a;
    } else {
        sp.wfirst = (sp.first + 1) - a;
        sp.wlast = b - sp.last;
    }
    return sp;
}

/* sum over the span, left to right, of weight * v (see ke.h step 2b). */
static double span_sum(const uint8_t *row, const span *sp) {
    if (sp->last < sp->first) return 0.0;
    double r = 0.0 + sp->wfirst * row[sp->first];
    if (sp->last == sp->first) return r;
    for (int x = sp->first + 1; x < sp->last; x++) r += row[x];
    return r + sp->wlast * row[sp->last];
}

static uint8_t to_byte(double v) {
    int q = (int)(v + 0.5);
    return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

static void resample(const uint8_t *img, int h, int w, int maxlevel, const window *win, int oh, int ow,
                     uint8_t *out) {
    span cols[KE_MAX_OUT];
    double acc[KE_MAX_OUT];
    for (int j = 0; j < ow; j++) cols[j] = span_of(win->x0, win->sx, j, w);
    double scale = 255.0 / (win->sx * win->sy * (double)maxlevel);
    for (int i = 0; i < oh; i++) {
        span rs = span_of(win->y0, win->sy, i, h);
        for (int j = 0; j < ow; j++) acc[j] = 0.0;
        for (int y = rs.first; y <= rs.last; y++) {
            double wy = y == rs.first ? rs.wfirst : y == rs.last ? rs.wlast : 1.0;
            const uint8_t *row = img + (size_t)y * (size_t)w;
            for (int j = 0; j < ow; j++) acc[j] += wy * span_sum(row, &cols[j]);
        }
        for (int j = 0; j < ow; j++) out[(size_t)i * (size_t)ow + (size_t)j] = to_byte(acc[j] * scale);
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
