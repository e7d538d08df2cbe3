//! Drawing a captcha: five characters of a stroke font of our own, each scaled,
//! turned and shifted at random, the whole bent by two waves and crossed by two
//! lines, on speckled grey; encoded as an 8-bit grey PNG with fast compression.
//!
//! Drawn here rather than by a captcha crate because the one we used encodes its own
//! RGB PNG with the slowest settings and gives no access to its pixels: on the peak
//! day its encoder took 1.7 ms of a journey's CPU (docs/benchmarks.md), ten times
//! what drawing and encoding take here.

use rand::{Rng, RngCore};

/// The image's size in pixels.
pub const WIDTH: u32 = 160;
pub const HEIGHT: u32 = 60;
/// Characters in one captcha.
pub const LENGTH: usize = 5;

/// Strokes of a glyph: polylines in a box 4 units wide and 6 high, y downwards.
type Glyph = &'static [&'static [(f32, f32)]];

/// The stem and bowl that P and R share.
const P_BOWL: &[(f32, f32)] = &[
    (0.0, 6.0),
    (0.0, 0.0),
    (3.0, 0.0),
    (4.0, 0.8),
    (4.0, 2.4),
    (3.0, 3.2),
    (0.0, 3.2),
];

/// The characters a captcha draws from: none that a reader could take for another
/// (no O/0/D/Q, I/1/L, S/5, Z/2 with both present, B/8, U/V).
const GLYPHS: &[(char, Glyph)] = &[
    (
        'A',
        &[
            &[(0.0, 6.0), (2.0, 0.0), (4.0, 6.0)],
            &[(0.8, 3.8), (3.2, 3.8)],
        ],
    ),
    (
        'C',
        &[&[
            (4.0, 1.0),
            (3.0, 0.0),
            (1.0, 0.0),
            (0.0, 1.5),
            (0.0, 4.5),
            (1.0, 6.0),
            (3.0, 6.0),
            (4.0, 5.0),
        ]],
    ),
    (
        'E',
        &[
            &[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0), (4.0, 6.0)],
            &[(0.0, 3.0), (3.0, 3.0)],
        ],
    ),
    (
        'F',
        &[
            &[(4.0, 0.0), (0.0, 0.0), (0.0, 6.0)],
            &[(0.0, 3.0), (3.0, 3.0)],
        ],
    ),
    (
        'H',
        &[
            &[(0.0, 0.0), (0.0, 6.0)],
            &[(4.0, 0.0), (4.0, 6.0)],
            &[(0.0, 3.0), (4.0, 3.0)],
        ],
    ),
    (
        'K',
        &[
            &[(0.0, 0.0), (0.0, 6.0)],
            &[(4.0, 0.0), (0.0, 3.5)],
            &[(1.3, 2.6), (4.0, 6.0)],
        ],
    ),
    (
        'M',
        &[&[(0.0, 6.0), (0.0, 0.0), (2.0, 3.5), (4.0, 0.0), (4.0, 6.0)]],
    ),
    ('N', &[&[(0.0, 6.0), (0.0, 0.0), (4.0, 6.0), (4.0, 0.0)]]),
    ('P', &[P_BOWL]),
    ('R', &[P_BOWL, &[(2.0, 3.2), (4.0, 6.0)]]),
    ('T', &[&[(0.0, 0.0), (4.0, 0.0)], &[(2.0, 0.0), (2.0, 6.0)]]),
    (
        'W',
        &[&[(0.0, 0.0), (1.0, 6.0), (2.0, 2.5), (3.0, 6.0), (4.0, 0.0)]],
    ),
    ('X', &[&[(0.0, 0.0), (4.0, 6.0)], &[(4.0, 0.0), (0.0, 6.0)]]),
    (
        'Y',
        &[
            &[(0.0, 0.0), (2.0, 3.0)],
            &[(4.0, 0.0), (2.0, 3.0), (2.0, 6.0)],
        ],
    ),
    (
        '2',
        &[&[
            (0.0, 1.0),
            (1.0, 0.0),
            (3.0, 0.0),
            (4.0, 1.0),
            (4.0, 2.2),
            (0.0, 6.0),
            (4.0, 6.0),
        ]],
    ),
    (
        '3',
        &[
            &[
                (0.0, 0.5),
                (1.0, 0.0),
                (3.0, 0.0),
                (4.0, 0.8),
                (4.0, 2.0),
                (3.0, 2.8),
                (1.5, 2.8),
            ],
            &[
                (3.0, 2.8),
                (4.0, 3.7),
                (4.0, 5.2),
                (3.0, 6.0),
                (1.0, 6.0),
                (0.0, 5.5),
            ],
        ],
    ),
    ('4', &[&[(3.0, 6.0), (3.0, 0.0), (0.0, 4.2), (4.0, 4.2)]]),
    (
        '6',
        &[&[
            (3.5, 0.0),
            (1.5, 0.6),
            (0.3, 2.5),
            (0.0, 4.5),
            (1.0, 6.0),
            (3.0, 6.0),
            (4.0, 5.0),
            (4.0, 3.8),
            (3.0, 3.0),
            (1.0, 3.0),
            (0.1, 3.8),
        ]],
    ),
    ('7', &[&[(0.0, 0.0), (4.0, 0.0), (1.5, 6.0)]]),
    (
        '9',
        &[&[
            (0.5, 6.0),
            (2.5, 5.4),
            (3.7, 3.5),
            (4.0, 1.5),
            (3.0, 0.0),
            (1.0, 0.0),
            (0.0, 1.0),
            (0.0, 2.2),
            (1.0, 3.0),
            (3.0, 3.0),
            (3.9, 2.2),
        ]],
    ),
];

const PAPER: f32 = 238.0;
const INK: f32 = 45.0;
/// Share of pixels speckled, out of 256.
const SPECKLED: u8 = 20;

/// A stroke placed on the image: a segment and its half width, in pixels.
struct Segment {
    from: (f32, f32),
    to: (f32, f32),
    half_width: f32,
}

impl Segment {
    /// How much of the pixel whose centre comes from `p` the stroke covers, 0 to 1
    /// (a one-pixel ramp at its edge, so strokes are smooth).
    fn coverage(&self, p: (f32, f32)) -> f32 {
        let (dx, dy) = (self.to.0 - self.from.0, self.to.1 - self.from.1);
        let (px, py) = (p.0 - self.from.0, p.1 - self.from.1);
        let length2 = dx * dx + dy * dy;
        let t = if length2 > 0.0 {
            ((px * dx + py * dy) / length2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (ex, ey) = (px - t * dx, py - t * dy);
        let reach = self.half_width + 0.5;
        let distance2 = ex * ex + ey * ey;
        if distance2 >= reach * reach {
            return 0.0;
        }
        (reach - distance2.sqrt()).min(1.0)
    }
}

/// Bends the image: the pixel at `(x, y)` shows the straight drawing at
/// `(x + across[y], y + down[x])`, two sine waves, one along each axis.
struct Waves {
    across: Vec<f32>,
    down: Vec<f32>,
    /// The largest shift, either way.
    reach: f32,
}

impl Waves {
    fn new(rng: &mut impl Rng) -> Waves {
        let wave = |count: u32, amplitude: f32, frequency: f32, phase: f32| -> Vec<f32> {
            (0..count)
                .map(|i| amplitude * ((i as f32 + 0.5) * frequency + phase).sin())
                .collect()
        };
        let (a, b) = (rng.random_range(1.0..2.5), rng.random_range(2.0..4.0));
        let (fa, fb) = (rng.random_range(0.08..0.16), rng.random_range(0.04..0.09));
        let tau = std::f32::consts::TAU;
        let (pa, pb) = (rng.random_range(0.0..tau), rng.random_range(0.0..tau));
        Waves {
            across: wave(HEIGHT, a, fa, pa),
            down: wave(WIDTH, b, fb, pb),
            reach: f32::max(a, b),
        }
    }

    /// Inks the pixels the segment covers, after bending (each keeps its darkest).
    fn draw(&self, segment: &Segment, ink: &mut [f32]) {
        let margin = segment.half_width + 1.0 + self.reach;
        let span = |a: f32, b: f32, end: u32| {
            let clip = |v: f32| v.clamp(0.0, end as f32) as u32;
            clip(a.min(b) - margin)..clip(a.max(b).ceil() + margin)
        };
        let xs = span(segment.from.0, segment.to.0, WIDTH);
        for y in span(segment.from.1, segment.to.1, HEIGHT) {
            let row = (y * WIDTH) as usize;
            for x in xs.clone() {
                let source = (
                    x as f32 + 0.5 + self.across[y as usize],
                    y as f32 + 0.5 + self.down[x as usize],
                );
                let cell = &mut ink[row + x as usize];
                *cell = cell.max(segment.coverage(source));
            }
        }
    }
}

/// Draws a new captcha: its answer and its image as PNG.
pub fn draw() -> Result<(String, Vec<u8>), png::EncodingError> {
    let mut rng = rand::rng();
    let chosen: Vec<&(char, Glyph)> = (0..LENGTH)
        .map(|_| &GLYPHS[rng.random_range(0..GLYPHS.len())])
        .collect();
    let waves = Waves::new(&mut rng);
    let mut segments: Vec<Segment> = Vec::new();
    for (slot, (_, glyph)) in chosen.iter().enumerate() {
        place(glyph, slot, &mut rng, &mut segments);
    }
    for _ in 0..2 {
        crossing_line(&mut rng, &mut segments);
    }
    let mut ink = vec![0.0_f32; (WIDTH * HEIGHT) as usize];
    for segment in &segments {
        waves.draw(segment, &mut ink);
    }
    // Two random bytes a pixel: whether it is speckled, and how.
    let mut noise = vec![0_u8; ink.len() * 2];
    rng.fill_bytes(&mut noise);
    let pixels: Vec<u8> = ink
        .iter()
        .zip(noise.chunks_exact(2))
        .map(|(&covered, noise)| {
            let shade = PAPER - covered * (PAPER - INK);
            let speckle = if noise[0] < SPECKLED {
                f32::from(noise[1]) * 0.6 - 90.0
            } else {
                0.0
            };
            (shade + speckle).clamp(0.0, 255.0) as u8
        })
        .collect();
    let answer = chosen.iter().map(|(c, _)| *c).collect();
    Ok((answer, encode(&pixels)?))
}

/// Adds the glyph as the `slot`-th character: 28–36 px high, turned by up to 0.35
/// rad, shifted a little within its slot.
fn place(glyph: Glyph, slot: usize, rng: &mut impl Rng, segments: &mut Vec<Segment>) {
    let slot_width = (WIDTH - 20) as f32 / LENGTH as f32;
    let scale: f32 = rng.random_range(4.7..6.0);
    let angle: f32 = rng.random_range(-0.35..0.35);
    let centre = (
        10.0 + slot_width * (slot as f32 + 0.5) + rng.random_range(-3.0..3.0),
        HEIGHT as f32 / 2.0 + rng.random_range(-4.0..4.0),
    );
    let half_width = rng.random_range(1.4..2.1);
    let (sin, cos) = angle.sin_cos();
    let at = |(gx, gy): (f32, f32)| {
        let (x, y) = ((gx - 2.0) * scale, (gy - 3.0) * scale);
        (centre.0 + x * cos - y * sin, centre.1 + x * sin + y * cos)
    };
    segments.extend(
        glyph
            .iter()
            .flat_map(|line| line.windows(2))
            .map(|pair| Segment {
                from: at(pair[0]),
                to: at(pair[1]),
                half_width,
            }),
    );
}

/// Adds a thin line across the text, gently curved.
fn crossing_line(rng: &mut impl Rng, segments: &mut Vec<Segment>) {
    let (start, end): (f32, f32) = (
        rng.random_range(5.0..(HEIGHT - 5) as f32),
        rng.random_range(5.0..(HEIGHT - 5) as f32),
    );
    let (sag, phase): (f32, f32) = (
        rng.random_range(-8.0..8.0),
        rng.random_range(0.0..std::f32::consts::TAU),
    );
    let point = |i: u32| {
        let t = i as f32 / 8.0;
        (
            t * WIDTH as f32,
            start + (end - start) * t + sag * (t * std::f32::consts::TAU + phase).sin(),
        )
    };
    segments.extend((0..8).map(|i| Segment {
        from: point(i),
        to: point(i + 1),
        half_width: 0.6,
    }));
}

fn encode(pixels: &[u8]) -> Result<Vec<u8>, png::EncodingError> {
    let mut png = Vec::with_capacity(pixels.len());
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(png).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info, pixels)
    }

    #[test]
    fn a_captcha_is_a_grey_png_of_its_size_with_five_known_characters() {
        let (answer, png) = draw().unwrap();
        assert_eq!(answer.chars().count(), LENGTH);
        assert!(
            answer.chars().all(|c| GLYPHS.iter().any(|(g, _)| *g == c)),
            "{answer}"
        );
        let (info, pixels) = decode(&png);
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(pixels.len(), (WIDTH * HEIGHT) as usize);
    }

    /// Every glyph, in every slot, leaves a stroke's worth of ink, all of it near its
    /// slot (drawn without waves, so the slot's bounds are exact).
    #[test]
    fn every_character_is_drawn_in_its_slot() {
        use rand::SeedableRng;
        let flat = Waves {
            across: vec![0.0; HEIGHT as usize],
            down: vec![0.0; WIDTH as usize],
            reach: 0.0,
        };
        let slot_width = (WIDTH - 20) as f32 / LENGTH as f32;
        for seed in 0..20 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            for (c, glyph) in GLYPHS {
                for slot in 0..LENGTH {
                    let mut segments = Vec::new();
                    place(glyph, slot, &mut rng, &mut segments);
                    let mut ink = vec![0.0; (WIDTH * HEIGHT) as usize];
                    segments.iter().for_each(|s| flat.draw(s, &mut ink));
                    let inked: Vec<f32> = (0..ink.len())
                        .filter(|&i| ink[i] > 0.5)
                        .map(|i| (i as u32 % WIDTH) as f32)
                        .collect();
                    assert!(inked.len() > 100, "{c} in slot {slot}: {}", inked.len());
                    let centre = 10.0 + slot_width * (slot as f32 + 0.5);
                    let off = inked.iter().map(|x| (x - centre).abs()).fold(0.0, f32::max);
                    assert!(off < slot_width / 2.0 + 8.0, "{c} in slot {slot}: {off}");
                }
            }
        }
    }

    #[test]
    fn glyphs_stay_in_their_box_and_are_distinct() {
        for (c, glyph) in GLYPHS {
            for &(x, y) in glyph.iter().flat_map(|line| line.iter()) {
                assert!((0.0..=4.0).contains(&x) && (0.0..=6.0).contains(&y), "{c}");
            }
            assert!(glyph.iter().all(|line| line.len() >= 2), "{c}");
        }
        let mut chars: Vec<char> = GLYPHS.iter().map(|(c, _)| *c).collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), GLYPHS.len());
    }

    #[test]
    fn two_captchas_differ() {
        let (a, first) = draw().unwrap();
        let (b, second) = draw().unwrap();
        assert!(a != b || first != second);
    }
}
