"""Exports for slides: every format's container, size and frame count; scenes; determinism; errors."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest
from PIL import Image

from optirace.app.state import PALETTE, RaceState
from optirace.export import Options, export
from optirace.export.animate import gif_delays
from optirace.export.frames import Picture
from optirace.export.options import frame_steps, parse_panels, parse_size
from optirace.export.scene import read_scene, scene_from_state, scene_to_query, state_from_scene
from optirace.figures.look import DARK

SMALL = (320, 180)
SCENE = {"surface": "rosenbrock", "racers": ["adam:lr=0.05", "sgd:lr=0.001,momentum=0.9"], "steps": 40}


@pytest.fixture(scope="module")
def state() -> RaceState:
    return state_from_scene(SCENE)


def _hex(c: str) -> tuple[int, int, int]:
    return tuple(int(c[i : i + 2], 16) for i in (1, 3, 5))


# ----- scenes ---------------------------------------------------------------------------------------
def test_scene_round_trips_through_the_apps_url_state(state):
    scene = scene_from_state(state)
    # Racers are written as the app's links write them: only values that differ from the defaults.
    assert scene["racers"] == ["adam:lr=0.05", "sgd:momentum=0.9"]
    assert scene["steps"] == 40 and scene["step"] == 40
    again = state_from_scene(json.loads(json.dumps(scene)))
    assert again.to_query() == state.to_query()
    np.testing.assert_array_equal(again.result.params, state.result.params)


def test_scene_is_what_the_app_shows_for_the_same_link(state):
    app = RaceState()
    app.apply_query(scene_to_query(scene_from_state(state)))
    np.testing.assert_array_equal(app.result.params, state.result.params)
    assert [app.label(i) for i in range(2)] == [state.label(i) for i in range(2)]


def test_scene_from_a_shared_link():
    url = "http://host:5006/app?surface=beale&r0=adam%3Alr%3D0.02&start=1,1.5&steps=25&theme=dark&present=1"
    scene = read_scene(url)
    assert (
        scene["surface"] == "beale" and scene["racers"] == ["adam:lr=0.02"] and scene["start"] == [1.0, 1.5]
    )
    st = state_from_scene(scene)
    assert st.theme == "dark" and st.present and st.result.steps == 25
    assert tuple(st.result.params[0, 0]) == (1.0, 1.5)


@pytest.mark.parametrize(
    ("scene", "words"),
    [
        ({"surface": "nowhere"}, "unknown surface"),
        ({"surface": "beale", "racers": ["adam:lr=-1"]}, "racer r0 ignored"),
        ({"surface": "beale", "colour": "red"}, "unknown field 'colour'"),
        ({"surface": "beale", "steps": 10, "step": 11}, "step 11"),
        ({"surface": "beale", "start": [1, 2, 3]}, "start"),
    ],
)
def test_scene_refuses_what_it_does_not_understand(scene, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        state_from_scene(scene)


# ----- options --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "options", "words"),
    [
        ("mp4", Options(size=(321, 180)), "even width and height"),
        ("png", Options(size=(8, 8)), "16 to"),
        ("gif", Options(fps=0), "fps"),
        ("gif", Options(duration=-1), "duration"),
        ("png", Options(panels=("contour", "speed")), "panels"),
        ("png", Options(at_step=41), "at-step 41"),
        ("gif", Options(theme="neon"), "theme"),
    ],
)
def test_bad_options_are_refused(fmt, options, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        options.checked(fmt, 40)


def test_size_and_panels_parse():
    assert parse_size("1920x1080") == (1920, 1080)
    assert parse_panels("contour, LOSS") == ("contour", "loss")
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("1920")


def test_frames_reveal_the_whole_race_evenly():
    ks = frame_steps(Options(fps=10, duration=2), 300)
    assert len(ks) == 20 and ks[0] == 0 and ks[-1] == 300 and np.all(np.diff(ks) > 0)
    assert sum(gif_delays(300, 30)) == 1000  # 300 frames at 30 fps: 10 s to the centisecond


# ----- GIF ------------------------------------------------------------------------------------------
def test_gif_frame_count_size_timing_and_loop(state, tmp_path):
    out = tmp_path / "race.gif"
    written = export(state, out, Options(size=SMALL, fps=10, duration=2))
    assert written.frames == 20
    with Image.open(out) as im:
        assert im.size == SMALL and im.n_frames == 20 and im.info["loop"] == 0
        total = 0
        for j in range(im.n_frames):
            im.seek(j)
            total += im.info["duration"]
        assert total == 2000


def test_gif_frames_match_the_rendered_frames(state, tmp_path):
    """The GIF's palette maps every pixel to its nearest colour: a close copy of the rendered frames."""
    out = tmp_path / "race.gif"
    options = Options(size=SMALL, fps=5, duration=1)
    export(state, out, options)
    pic = Picture(state, options.checked("gif", 40))
    with Image.open(out) as im:
        for j, k in enumerate(frame_steps(options, 40)):
            im.seek(j)
            got = np.asarray(im.convert("RGB"), dtype=int)
            want = pic.frame(int(k)).astype(int)
            assert np.abs(got - want).mean() < 1.5 and np.percentile(np.abs(got - want), 99) <= 24


def test_same_scene_same_frames(tmp_path):
    """Deterministic: two independent runs give the same pixels and a byte-identical GIF."""
    a, b = state_from_scene(SCENE), state_from_scene(SCENE)
    options = Options(size=SMALL, fps=5, duration=1)
    pa, pb = Picture(a, options), Picture(b, options)
    for k in (0, 17, 40):
        np.testing.assert_array_equal(pa.frame(k), pb.frame(k))
    export(a, tmp_path / "a.gif", options)
    export(b, tmp_path / "b.gif", options)
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()


# ----- MP4 ------------------------------------------------------------------------------------------
def _boxes(data: bytes, start: int = 0, end: int | None = None):
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[i + 8 : i + 16])[0], 16
        elif size == 0:
            size = end - i
        yield kind.decode("latin-1"), i + head, i + size
        i += size


def _find(data: bytes, path: list[str], start: int = 0, end: int | None = None):
    for kind, body, stop in _boxes(data, start, end):
        if kind == path[0]:
            return (body, stop) if len(path) == 1 else _find(data, path[1:], body, stop)
    return None


def test_mp4_container_codec_and_frame_count(state, tmp_path):
    import imageio_ffmpeg

    out = tmp_path / "race.mp4"
    export(state, out, Options(size=SMALL, fps=10, duration=2))
    data = out.read_bytes()
    top = [k for k, _, _ in _boxes(data)]
    assert top[0] == "ftyp" and "moov" in top and "mdat" in top
    assert top.index("moov") < top.index("mdat")  # +faststart: slides can play before the whole file is read
    stbl = ["moov", "trak", "mdia", "minf", "stbl"]
    body, _ = _find(data, [*stbl, "stsz"])
    assert struct.unpack(">I", data[body + 8 : body + 12])[0] == 20  # sample count: one per frame
    body, _ = _find(data, [*stbl, "stsd"])
    assert data[body + 12 : body + 16] == b"avc1"  # H.264
    body, _ = _find(data, ["moov", "trak", "tkhd"])
    w, h = struct.unpack(">II", data[body + 76 : body + 84])
    assert (w >> 16, h >> 16) == SMALL
    frames, secs = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 20 and secs == pytest.approx(2.0, abs=0.05)


# ----- stills ---------------------------------------------------------------------------------------
def test_png_dimensions_colours_and_step(state, tmp_path):
    out = tmp_path / "race.png"
    written = export(state, out, Options(size=(640, 360), at_step=12))
    assert written.step == 12
    with Image.open(out) as im:
        assert im.size == (640, 360)
        pixels = np.asarray(im.convert("RGB"))
    # The very pixels of frame 12 of the animation, and the racers wear the app's colours.
    np.testing.assert_array_equal(pixels, Picture(state, Options(size=(640, 360))).frame(12))
    flat = {tuple(p) for p in pixels.reshape(-1, 3)}
    for colour in PALETTE[:2]:
        assert _hex(colour) in flat


def test_still_defaults_to_the_scenes_step(tmp_path):
    st = state_from_scene({**SCENE, "step": 7})
    assert export(st, tmp_path / "a.png", Options(size=SMALL)).step == 7


def test_svg_has_drawn_paths_and_its_size(state, tmp_path):
    out = tmp_path / "race.svg"
    export(state, out, Options(size=SMALL))
    text = out.read_text()
    assert re.search(r'<svg[^>]*width="230\.4pt"[^>]*height="129\.6pt"', text)
    paths = re.findall(r'<path [^>]*d="M[^"]+"', text)
    assert len(paths) > 20  # contours, axes, the racers' paths and the glyphs of the text
    assert PALETTE[0].lower() in text.lower()


@pytest.mark.parametrize(("size", "page"), [((1280, 720), (921.6, 518.4)), ((320, 180), (230.4, 129.6))])
def test_pdf_page_size(state, tmp_path, size, page):
    out = tmp_path / "race.pdf"
    export(state, out, Options(size=size))
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert len(boxes) == 1
    assert tuple(float(v) for v in boxes[0]) == pytest.approx(page)


# ----- what is drawn ------------------------------------------------------------------------------------
def test_one_variable_surface_shows_the_curve_and_tangent_lines(tmp_path):
    st = state_from_scene({"surface": "parabola", "racers": ["gd:lr=0.3"], "start": [0.0], "steps": 5})
    pic = Picture(st, Options(size=SMALL))
    pic.frame(1)
    ((x0, y0), (x1, y1)) = pic.tangents[0].get_segments()[0]
    # The seed's worked example: x1 = 1.2 on f = x^2 - 4x + 3, where f'(1.2) = -1.6.
    assert (x0 + x1) / 2 == pytest.approx(1.2)
    assert (y1 - y0) / (x1 - x0) == pytest.approx(2 * 1.2 - 4)
    out = export(st, tmp_path / "parabola.png", Options(size=SMALL)).path
    assert Image.open(out).size == SMALL


def test_a_diverged_racer_is_marked_inside_the_plot_not_drawn_to_infinity():
    st = state_from_scene({"surface": "rosenbrock", "racers": ["gd:lr=0.01", "adam:lr=0.05"], "steps": 30})
    d = int(st.result.diverged_at[0])
    assert 0 < d < 30 and st.result.diverged_at[1] == -1
    pic = Picture(st, Options(size=SMALL))
    pic.frame(30)
    x, y = pic.paths[0].get_segments()[0].T
    assert len(x) == d + 1 and np.all(np.isfinite(x)) and np.all(np.isfinite(y))
    ((cx, cy),) = pic.crosses[0].get_offsets()
    (xa, xb), (ya, yb) = pic.main_ax.get_xlim(), pic.main_ax.get_ylim()
    assert xa < cx < xb and ya < cy < yb and pic.crosses[0].get_visible()
    assert pic.notes[0].get_text() == f"diverged at step {d}" and pic.notes[0].get_visible()
    assert 1 not in pic.notes and 1 not in pic.crosses  # racer 1 never diverged
    pic.frame(d - 1)
    assert not pic.notes[0].get_visible()  # not yet


def test_themes_panels_title_and_legend(state):
    dark = Picture(state, Options(size=SMALL, theme="dark")).frame(40)
    assert tuple(dark[1, 1]) == _hex(DARK.background)
    slides = Picture(state, Options(size=SMALL, theme="slides"))
    assert slides.look.line_width > Picture(state, Options(size=SMALL)).look.line_width
    pic = Picture(state, Options(size=SMALL, panels=("loss", "lr"), title="Adam vs SGD", legend=False))
    assert set(pic.axes) == {"loss", "lr"} and not pic.legends
    assert pic.fig._suptitle.get_text() == "Adam vs SGD"
    side = Picture(state, Options(size=SMALL, panels=("contour",)))
    assert len(side.legends) == 1 and "adam:lr=0.05" in [t.get_text() for t in side.legends[0].get_texts()]


def test_progress_reaches_the_end(state, tmp_path):
    seen = []
    export(
        state, tmp_path / "p.gif", Options(size=SMALL, fps=5, duration=1), lambda i, n: seen.append((i, n))
    )
    assert seen[-1] == (5, 5) and [i for i, _ in seen] == sorted(i for i, _ in seen)


def test_failed_export_leaves_nothing_behind(state, tmp_path):
    with pytest.raises(ValueError):
        export(state, tmp_path / "x.mp4", Options(size=(321, 181)))
    assert list(tmp_path.iterdir()) == []


def test_offline_html_has_everything_inline(state, tmp_path):
    # As in the app's server, where the Export menu writes it: Panel's model classes are loaded,
    # and Bokeh would add their script files (server-relative paths a saved file cannot load).
    from panel.custom import JSComponent  # noqa: F401

    import optirace.app.racers  # noqa: F401 (Panel's widgets and components)

    out = tmp_path / "race.html"
    export(state, out, Options(size=(960, 540)))
    page = out.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)
    assert "Bokeh" in page and "__optirace" in page


def test_realistic_size_gif(tmp_path):
    """The benchmark's case at full size: 1280x720, 4 racers, 300 steps, one frame per step."""
    st = state_from_scene({"surface": "rosenbrock", "steps": 300, "racers": [
        "adam:lr=0.05", "sgd:lr=0.001,momentum=0.9", "rmsprop:lr=0.01", "gd:lr=0.001"]})  # fmt: skip
    written = export(st, tmp_path / "race.gif", Options())
    assert written.frames == 300 and written.size == (1280, 720)
    assert written.bytes < 4e6
    with Image.open(written.path) as im:
        assert im.size == (1280, 720) and im.n_frames == 300


# ----- the command ------------------------------------------------------------------------------------
def test_cli_export_writes_the_file_and_says_so(tmp_path, capsys):
    from optirace.cli import main

    out = tmp_path / "race.gif"
    code = main(["export", "--surface", "beale", "--racer", "adam:lr=0.05", "--steps", "20", "--start", "-1,1.5",
                 "--size", "160x90", "--fps", "5", "--duration", "1", "--panels", "contour,loss", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (animated GIF, 160x90, 5 frames")
    with Image.open(out) as im:
        assert im.size == (160, 90) and im.n_frames == 5


def test_cli_scene_file_gives_what_the_app_shows(tmp_path, capsys):
    from optirace.cli import main

    scene = tmp_path / "scene.json"
    scene.write_text(json.dumps({**SCENE, "step": 9, "theme": "dark"}))
    assert main(["export", "--scene", str(scene), "--size", "160x90", "--out", str(tmp_path / "s.png")]) == 0
    pixels = np.asarray(Image.open(tmp_path / "s.png").convert("RGB"))
    want = Picture(state_from_scene({**SCENE, "theme": "dark"}), Options(size=(160, 90))).frame(9)
    np.testing.assert_array_equal(pixels, want)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--out", "race.webm"], "cannot tell the format"),
        (["--out", "race.gif", "--size", "big"], "not WIDTHxHEIGHT"),
        (["--out", "race.gif", "--racer", "adamz:lr=1"], "--racer 'adamz:lr=1': racer: unknown optimizer"),
        (["--out", "race.gif", "--surface", "nowhere"], "unknown surface 'nowhere'"),
        (["--out", "race.gif", "--at-step", "3"], "--at-step is for stills"),
        (["--out", "race.png", "--at-step", "301"], "at-step 301"),
        (["--out", "race.mp4", "--size", "641x360"], "even width and height"),
        (["--out", "race.png", "--scene", "missing.json"], "scene missing.json: no such file"),
        (["--out", "race.png", "--scene", "s.json", "--steps", "5"], "drop --steps"),
        (["--out", "race.png", "--theme", "neon"], "invalid choice"),
        (["--out", "nowhere/race.png"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(argv, words, tmp_path, capsys, monkeypatch):
    from optirace.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error: ") and err.count("\n") == 1 and words in err
    assert [p.name for p in tmp_path.iterdir()] == []


# ----- the app's Export menu (without a browser) ----------------------------------------------------------
def test_export_menu_link_snippet_scene_and_file(tmp_path):
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import parse_qsl, urlsplit

    from optirace.app.export_menu import ExportMenu

    st = state_from_scene({**SCENE, "step": 5})
    menu = ExportMenu(st)
    query = dict(parse_qsl(urlsplit(menu.link.value).query))
    assert query == st.to_query()  # the link is the app's own URL state
    assert (
        'width="1280" height="720"' in menu.snippet.value
        and "embed=1&amp;play=1&amp;loop=1" in menu.snippet.value
    )
    menu.size.value = "960x540"
    assert 'width="960" height="540"' in menu.snippet.value
    scene = json.loads(menu._scene_bytes().getvalue())
    assert scene["step"] == 5 and state_from_scene(scene).to_query() == st.to_query()
    menu.format.value = "png"
    # On a thread of its own: the browser tests' Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, menu._on_export(None)).result()
    assert menu.download.visible and menu.download.filename == "optirace-rosenbrock.png"
    assert "960x540, step 5" in menu.status.text and not menu.button.disabled
    (tmp_path / "got.png").write_bytes(menu.download.file.getvalue())
    assert Image.open(tmp_path / "got.png").size == (960, 540)


def test_labels_and_titles_are_drawn_as_written(tmp_path):
    """A `$` in a label or title would start matplotlib's mathtext, and an unbalanced one failed the
    whole export: stills and animations draw user text as its characters."""
    scene = {"surface": "rosenbrock", "steps": 10,
             "racers": ["adam:lr=0.05,label=$x^$ costs $5", "sgd:lr=0.001,label=<b>\\alpha</b>"]}  # fmt: skip
    st = state_from_scene(scene)
    out = export(st, tmp_path / "race.png", Options(size=SMALL, title="$\\frac{1}{$"))
    assert out.bytes > 0 and Image.open(out.path).size == SMALL
    assert Picture(st, Options(size=SMALL), animated=False).labels == [r"\$x^\$ costs \$5", "<b>\\alpha</b>"]
