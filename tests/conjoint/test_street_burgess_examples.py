"""Street-Burgess efficiency against published reference outputs of the authors' own software.

Where the numbers come from
---------------------------
The worked examples of Street & Burgess, *The Construction of Optimal Stated Choice Experiments*
(Wiley, 2007), of Street, Burgess & Louviere (2005) and of Burgess & Street (2005) could not be
read when this file was written: the stored copies of the book (epdf.tips, epdf.mx) and of the
papers (c.coek.info, sciencedocbox.com) were reachable only through their opening pages. No number
below is taken from the book. They are taken, verbatim, from the reference software of the same
authors, which implements the book's main-effects theory:

* Leonie Burgess, "Discrete Choice Experiments" [computer software], UTS, the program the book's
  authors ask users to cite (source, examples and regression outputs at
  github.com/UTS-eResearch/choice). Its ``test/<case>/out_*.orig`` / ``out_*.dat`` files are the
  outputs the program is regression-tested against (``regression_test.sh``); the input choice
  sets are in ``test/<case>/in_*.dat`` and ``static_choice/examples.js``.
* Stephen Bush, "Discrete Choice Designer" (github.com/sabush/dce-design, README), "based on
  Mathematica code accompanying Street and Burgess (2007), written by Leonie Burgess".

How the reference program computes (``process_choices.py``, commit 261c967): C = B Lambda B' with
B built from orthogonal polynomial contrasts, each row normalised over the complete factorial
(``construct_poly_contrasts``), Lambda from the choice sets, after dropping choice sets that repeat
an earlier row option by option; the optimal det C is coded with the same S_q rule that winback
attributes to the book's Theorem 6.3.1, and a second efficiency is printed against the optimum for
m = lcm(levels), whose determinant it codes as (1/L)^p. winback uses other orthonormal contrasts,
so its C is compared after the orthogonal change of basis T = blockdiag(H_q' P_q) (H_q winback's
contrasts, P_q the normalised polynomial ones); determinants and efficiencies need no change.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from conjoint.diagnostics import (
    street_burgess_efficiency,
    street_burgess_information,
    street_burgess_optimum,
)
from conjoint.encoding import orthonormal_contrasts

# published reference outputs: the recovery / real-data tier
pytestmark = pytest.mark.recovery

UTS = "github.com/UTS-eResearch/choice"

# orthogonal polynomial contrasts exactly as in process_choices.py, construct_poly_contrasts()
_POLY = {
    2: [[-1, 1]],
    3: [[-1, 0, 1], [1, -2, 1]],
    4: [[-3, -1, 1, 3], [1, -1, -1, 1], [-1, 3, -3, 1]],
    6: [
        [-5, -3, -1, 1, 3, 5],
        [5, -1, -4, -4, -1, 5],
        [-5, 7, 4, -4, -7, 5],
        [1, -3, 2, 2, -3, 1],
        [-1, 5, -10, 10, -5, 1],
    ],
    8: [
        [-7, -5, -3, -1, 1, 3, 5, 7],
        [7, 1, -3, -5, -5, -3, 1, 7],
        [-7, 5, 7, 3, -3, -7, -5, 7],
        [7, -13, -3, 9, 9, -3, -13, 7],
        [-7, 23, -17, -15, 15, 17, -23, 7],
        [1, -5, 9, -5, -5, 9, -5, 1],
        [-1, 7, -21, 35, -35, 21, -7, 1],
    ],
}


# -- helpers -----------------------------------------------------------------------------------


def _parse(text: str, m: int, k: int) -> np.ndarray:
    """Choice sets written one per whitespace-separated token of m*k one-digit levels."""
    rows = [[int(ch) for ch in token] for token in text.split()]
    return np.array(rows).reshape(len(rows), m, k)


def _from_generators(start, generators, levels) -> np.ndarray:
    """Option 1 = the starting design; option i+1 = option 1 + generator i (mod l_q)."""
    start = np.asarray(start)
    options = [start] + [(start + np.asarray(g)) % np.asarray(levels) for g in generators]
    return np.stack(options, axis=1)


def _drop_repeats(sets: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Unique choice sets (first occurrences) and the 1-based repeats, as the UTS program lists
    them: set j is reported once for every earlier set i equal to it option by option."""
    flat = [tuple(s.ravel()) for s in sets]
    repeats = [j + 1 for i, j in itertools.combinations(range(len(flat)), 2) if flat[i] == flat[j]]
    keep = sorted({row: n for n, row in reversed(list(enumerate(flat)))}.values())
    return sets[keep], sorted(repeats)


def _poly(q: int) -> np.ndarray:
    """(q, q-1) normalised orthogonal polynomial contrasts."""
    p = np.array(_POLY[q], dtype=float).T
    return p / np.linalg.norm(p, axis=0)


def _to_polynomial_basis(c: np.ndarray, levels) -> np.ndarray:
    """winback's C expressed in the reference program's polynomial contrasts: T' C T."""
    blocks = [orthonormal_contrasts(q).T @ _poly(q) for q in levels]
    t = np.zeros_like(c)
    i = 0
    for b in blocks:
        t[i : i + len(b), i : i + len(b)] = b
        i += len(b)
    return t.T @ c @ t


def _reference_information(sets, levels) -> np.ndarray:
    """C = B Lambda B' transcribed from process_choices.py (CheckSets_MainEffects): Lambda over
    the treatment combinations that appear, B from polynomial contrasts normalised over the
    complete factorial. Independent of winback's vectorised formula and contrasts."""
    sets = np.asarray(sets)
    n, m, _ = sets.shape
    tmts = sorted({tuple(int(v) for v in opt) for s in sets for opt in s})
    index = {t: i for i, t in enumerate(tmts)}
    lam = np.zeros((len(tmts), len(tmts)))
    for s in sets:
        ids = [index[tuple(int(v) for v in opt)] for opt in s]
        for i, j in itertools.combinations(ids, 2):
            lam[i, j] -= 1
            lam[j, i] -= 1
    lam -= np.diag(lam.sum(axis=1))
    lam /= n * m * m
    big_l = math.prod(levels)
    rows = []
    for a, q in enumerate(levels):
        for contrast in _POLY[q]:
            norm = math.sqrt(sum(v * v for v in contrast) * big_l / q)
            rows.append([contrast[t[a]] / norm for t in tmts])
    b = np.array(rows)
    return b @ lam @ b.T


def _reference_optimum(levels, m: int) -> Fraction:
    """det C of the optimal design, transcribed from process_choices.py (exact arithmetic)."""
    big_l = math.prod(levels)
    det = Fraction(1)
    for q in levels:
        if q == 2:
            s = Fraction(m * m, 4) if m % 2 == 0 else Fraction(m * m - 1, 4)
        elif q >= m:
            s = Fraction(m * (m - 1), 2)
        else:
            x, y = divmod(m, q)
            s = Fraction(m * m - (q * x * x + 2 * x * y + y), 2)
        det *= (2 * q * s / (m * m * (q - 1) * big_l)) ** (q - 1)
    return det


def _summary(sets, levels, m_opt: int) -> tuple[float, float, float]:
    """winback's det C, efficiency for the design's m, efficiency against m = m_opt."""
    c = street_burgess_information(np.asarray(sets), levels)
    p = c.shape[0]
    det = float(np.linalg.det(c))
    eff_opt = (det / street_burgess_optimum(levels, m_opt)) ** (1 / p) if det > 0 else 0.0
    return det, street_burgess_efficiency(sets, levels), eff_opt


# -- UTS check_main_1 / construct_main_1: 4 x 3^3, pairs, generator 3222 -----------------------

LEVELS_4333 = [4, 3, 3, 3]

# starting design: static_choice/examples.js, construct_main_1() (16-run OMEP of 4 x 3^3)
START_4333 = np.array(
    [
        [0, 0, 0, 0], [2, 2, 0, 2], [3, 0, 0, 0], [1, 1, 0, 1],
        [1, 0, 2, 0], [3, 2, 1, 0], [2, 1, 0, 0], [0, 0, 0, 2],
        [3, 0, 0, 1], [0, 2, 2, 1], [1, 2, 0, 0], [1, 0, 1, 2],
        [2, 0, 2, 0], [2, 0, 1, 1], [3, 1, 2, 2], [0, 1, 1, 0],
    ]
)  # fmt: skip

# the same choice sets as listed for checking: static_choice/examples.js, check_main_1()
CHECK_MAIN_1_SETS = _parse(
    "00003222 22021121 30002222 11010020 10200212 32102102 21001022 00023221 "
    "30012220 02213110 12000122 10120201 20201212 20111200 31222011 01103002",
    m=2,
    k=4,
)

# test/construct_main_1/out_cmat.orig (= test/check_main_1/out_cmat.dat), polynomial contrasts
C_CHECK_MAIN_1 = np.array(
    [
        [1 / 180, 0, 1 / 540, 0, 0, 0, 0, 0, 0],
        [0, 1 / 216, 0, 0, 0, 0, 0, 0, 0],
        [1 / 540, 0, 1 / 120, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 5 / 576, 0, 1 / 1152, 0, 1 / 1152, 0],
        [0, 0, 0, 0, 1 / 192, 0, 0, 0, 0],
        [0, 0, 0, 1 / 1152, 0, 5 / 576, 0, 1 / 1152, 0],
        [0, 0, 0, 0, 0, 0, 1 / 192, 0, 0],
        [0, 0, 0, 1 / 1152, 0, 1 / 1152, 0, 5 / 576, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 1 / 192],
    ]
)


def test_uts_check_main_1_asymmetric_pairs_from_generator_is_95_7_percent():
    """UTS "Discrete Choice Experiments", test case check_main_1 / construct_main_1 (website
    "Construct Example 1" and "Check Example 4"): attributes with 4, 3, 3, 3 levels, m = 2,
    16 pairs made by adding the generator (3, 2, 2, 2) mod (4, 3, 3, 3) to a 16-run OMEP.

    Stated (test/check_main_1/out_msg.dat, commit 6e5ec67): 16 choice sets, det C =
    1.78268201804e-20, efficiency 95.738851% for m = 2 and 69.039658% against the optimal
    choice set size m = 12; C in test/construct_main_1/out_cmat.orig (commit f8f209f).
    """
    sets = _from_generators(START_4333, [[3, 2, 2, 2]], LEVELS_4333)
    assert np.array_equal(sets, CHECK_MAIN_1_SETS)
    det, eff, eff12 = _summary(sets, LEVELS_4333, m_opt=12)
    assert det == pytest.approx(1.78268201804e-20, rel=1e-11), (
        f"check_main_1 det C: winback {det:.11e}, reference 1.78268201804e-20"
    )
    assert 100 * eff == pytest.approx(95.738851, abs=5e-7), (
        f"check_main_1 (m=2): winback {100 * eff:.6f}%, reference 95.738851%"
    )
    assert 100 * eff12 == pytest.approx(69.039658, abs=5e-7), (
        f"check_main_1 (m=12): winback {100 * eff12:.6f}%, reference 69.039658%"
    )
    c = street_burgess_information(sets, LEVELS_4333)
    np.testing.assert_allclose(
        _to_polynomial_basis(c, LEVELS_4333), C_CHECK_MAIN_1, rtol=1e-12, atol=1e-17
    )
    np.testing.assert_allclose(
        _reference_information(sets, LEVELS_4333), C_CHECK_MAIN_1, rtol=1e-12, atol=1e-17
    )


# -- UTS check_main_3: 3^7, 567 pairs ---------------------------------------------------------

# test/check_main_3/in_chsets.dat (commit d517223), one token per choice set (7 + 7 levels)
CHECK_MAIN_3_TEXT = """
00000001100001 01000011200002 02000021000000 10000012100002 11000022200000 12000002000001
20000020100000 21000000200001 22000010000002 00000001011000 00110001022000 00220001000000
10010002012000 10120002020000 10200002001000 20020000010000 20100000021000 20210000002000
00000001000110 00001101000220 00002201000000 10000102000120 10001202000200 10002002000010
20000200000100 20001000000210 20002100000020 00000000110100 00101000120200 00202000100000
01001000210200 01102000220000 01200000200100 02002000010000 02100000020100 02201000000200
00000000101010 00010100102020 00020200100000 01000100201020 01010200202000 01020000200010
02000200001000 02010000002010 02020100000020 00000000010011 00000110010022 00000220010000
00100010020012 00100120020020 00100200020001 00200020000010 00200100000021 00200210000002
00000000001101 00001010001202 00002020001000 00010010002102 00011020002200 00012000002001
00020020000100 00021000000201 00022010000002 00011101101111 01011111201112 02011121001110
10011112101112 11011122201110 12011102001111 20011120101110 21011100201111 22011110001112
00001111011111 00111111022111 00221111000111 10011112012111 10121112020111 10201112001111
20021110010111 20101110021111 20211110002111 00110011011111 00111111011221 00112211011001
10110112011121 10111212011201 10112012011011 20110210011101 20111010011211 20112110011021
00010110111111 00111110121211 00212110101011 01011110211211 01112110221011 01210110201111
02012110011011 02110110021111 02211110001211 00101010111111 00111110112121 00121210110101
01101110211121 01111210212101 01121010210111 02101210011101 02111010012111 02121110010121
01011000111111 01011110111122 01011220111100 01111010121112 01111120121120 01111200121101
01211020101110 01211100101121 01211210101102 01100100111111 01101110111212 01102120111010
01110110112112 01111120112210 01112100112011 01120120110110 01121100110211 01122110110012
00022201102221 01022211202222 02022221002220 10022212102222 11022222202220 12022202002221
20022220102220 21022200202221 22022210002222 00002221011222 00112221022222 00222221000222
10012222012222 10122222020222 10202222001222 20022220010222 20102220021222 20212220002222
00220021022112 00221121022222 00222221022002 10220122022122 10221222022202 10222022022012
20220220022102 20221020022212 20222120022022 00020220112122 00121220122222 00222220102022
01021220212222 01122220222022 01220220202122 02022220012022 02120220022122 02221220002222
00202020121212 00212120122222 00222220120202 01202120221222 01212220222202 01222020220212
02202220021202 02212020022212 02222120020222 02022000212211 02022110212222 02022220212200
02122010222212 02122120222220 02122200222201 02222020202210 02222100202221 02222210202202
02200200221121 02201210221222 02202220221020 02210210222122 02211220222220 02212200222021
02220220220120 02221200220221 02222210220022 00101201110121 01101211210122 02101221010120
10101212110122 11101222210120 12101202010121 20101220110120 21101200210121 22101210010122
01000121111012 01110121122012 01220121100012 11010122112012 11120122120012 11200122101012
21020120110012 21100120121012 21210120102012 01010021101112 01011121101222 01012221101002
11010122101122 11011222101202 11012022101012 21010220101102 21011020101212 21012120101022
10000121110112 10101121120212 10202121100012 11001121210212 11102121220012 11200121200112
12002121010012 12100121020112 12201121000212 10001021101112 10011121102122 10021221100102
11001121201122 11011221202102 11021021200112 12001221001102 12011021002112 12021121000122
10012001011211 10012111011222 10012221011200 10112011021212 10112121021220 10112201021201
10212021001210 10212101001221 10212211001202 10100201011121 10101211011222 10102221011020
10110211012122 10111221012220 10112201012021 10120221010120 10121201010221 10122211010022
00112001111201 01112011211202 02112021011200 10112012111202 11112022211200 12112002011201
20112020111200 21112000211201 22112010011202 01001201111120 01111201122120 01221201100120
11011202112120 11121202120120 11201202101120 21021200110120 21101200121120 21211200102120
01120001112110 01121101112220 01122201112000 11120102112120 11121202112200 11122002112010
21120200112100 21121000112210 21122100112020 10010201111120 10111201121220 10212201101020
11011201211220 11112201221020 11210201201120 12012201011020 12110201021120 12211201001220
10102001111210 10112101112220 10122201110200 11102101211220 11112201212200 11122001210210
12102201011200 12112001012210 12122101010220 11020001112011 11020111112022 11020221112000
11120011122012 11120121122020 11120201122001 11220021102010 11220101102021 11220211102002
11200001121101 11201011121202 11202021121000 11210011122102 11211021122200 11212001122001
11220021120100 11221001120201 11222011120002 00120101112011 01120111212012 02120121012010
10120112112012 11120122212010 12120102012011 20120120112010 21120100212011 22120110012012
01002011111201 01112011122201 01222011100201 11012012112201 11122012120201 11202012101201
21022010110201 21102010121201 21212010102201 01200011120111 01201111120221 01202211120001
11200112120121 11201212120201 11202012120011 21200210120101 21201010120211 21202110120021
10020011112101 10121011122201 10222011102001 11021011212201 11122011222001 11220011202101
12022011012001 12120011022101 12221011002201 10200011121011 10210111122021 10220211120001
11200111221021 11210211222001 11220011220011 12200211021001 12210011022011 12220111020021
12001001210111 12001111210122 12001221210100 12101011220112 12101121220120 12101201220101
12201021200110 12201101200121 12201211200102 12000101201111 12001111201212 12002121201010
12010111202112 12011121202210 12012101202011 12020121200110 12021101200211 12022111200012
00202101120211 01202111220212 02202121020210 10202112120212 11202122220210 12202102020211
20202120120210 21202100220211 22202110020212 02000211211021 02110211222021 02220211200021
12010212212021 12120212220021 12200212201021 22020210210021 22100210221021 22210210202021
02020011202111 02021111202221 02022211202001 12020112202121 12021212202201 12022012202011
22020210202101 22021010202211 22022110202021 20000212110121 20101212120221 20202212100021
21001212210221 21102212220021 21200212200121 22002212010021 22100212020121 22201212000221
20002012101211 20012112102221 20022212100201 21002112201221 21012212202201 21022012200211
22002212001201 22012012002211 22022112000221 20021002012111 20021112012122 20021222012100
20121012022112 20121122022120 20121202022101 20221022002110 20221102002121 20221212002102
20200102021111 20201112021212 20202122021010 20210112022112 20211122022210 20212102022011
20220122020110 20221102020211 20222112020012 00210201121021 01210211221022 02210221021020
10210212121022 11210222221020 12210202021021 20210220121020 21210200221021 22210210021022
02001021211102 02111021222102 02221021200102 12011022212102 12121022220102 12201022201102
22021020210102 22101020221102 22211020202102 02100021210112 02101121210222 02102221210002
12100122210122 12101222210202 12102022210012 22100220210102 22101020210212 22102120210022
20010022111102 20111022121202 20212022101002 21011022211202 21112022221002 21210022201102
22012022011002 22110022021102 22211022001202 20100022111012 20110122112022 20120222110002
21100122211022 21110222212002 21120022210012 22100222011002 22110022012012 22120122010022
21002002110211 21002112110222 21002222110200 21102012120212 21102122120220 21102202120201
21202022100210 21202102100221 21202212100202 21000202101121 21001212101222 21002222101020
21010212102122 21011222102220 21012202102021 21020222100120 21021202100221 21022212100022
00221001122101 01221011222102 02221021022100 10221012122102 11221022222100 12221002022101
20221020122100 21221000222101 22221010022102 02002101211210 02112101222210 02222101200210
12012102212210 12122102220210 12202102201210 22022100210210 22102100221210 22212100202210
02210001221110 02211101221220 02212201221000 12210102221120 12211202221200 12212002221010
22210200221100 22211000221210 22212100221020 20020102112110 20121102122210 20222102102010
21021102212210 21122102222010 21220102202110 22022102012010 22120102022110 22221102002210
20201002121110 20211102122120 20221202120100 21201102221120 21211202222100 21221002220110
22201202021100 22211002022110 22221102020120 22010002211011 22010112211022 22010222211000
22110012221012 22110122221020 22110202221001 22210022201010 22210102201021 22210212201002
22100002211101 22101012211202 22102022211000 22110012212102 22111022212200 22112002212001
22120022210100 22121002210201 22122012210002
"""


def test_uts_check_main_3_seven_three_level_attributes_is_3_over_7():
    """UTS "Discrete Choice Experiments", test case check_main_3: 7 attributes with 3 levels,
    m = 2, 567 pairs (test/check_main_3/in_chsets.dat, commit d517223).

    Stated (test/check_main_3/out_msg.orig, out_cmat.orig): 567 choice sets, C = I/6804,
    det C = 2.19431883463e-54, efficiency 42.857143% for m = 2 and 32.142857% against m = 3.
    C = I/6804 is the same in every orthonormal basis, so it is compared directly.
    """
    levels = [3] * 7
    sets = _parse(CHECK_MAIN_3_TEXT, m=2, k=7)
    assert len(sets) == 567
    assert _drop_repeats(sets)[1] == []
    c = street_burgess_information(sets, levels)
    np.testing.assert_allclose(c, np.eye(14) / 6804, rtol=0, atol=1e-17)
    det, eff, eff3 = _summary(sets, levels, m_opt=3)
    assert det == pytest.approx(2.19431883463e-54, rel=1e-11), (
        f"check_main_3 det C: winback {det:.11e}, reference 2.19431883463e-54"
    )
    assert 100 * eff == pytest.approx(42.857143, abs=5e-7), (
        f"check_main_3 (m=2): winback {100 * eff:.6f}%, reference 42.857143%"
    )
    assert 100 * eff3 == pytest.approx(32.142857, abs=5e-7), (
        f"check_main_3 (m=3): winback {100 * eff3:.6f}%, reference 32.142857%"
    )


# -- UTS check_main_2: 4 x 6 x 6 x 8 x 4 x 6, 480 pairs, not estimable ------------------------

LEVELS_466846 = [4, 6, 6, 8, 4, 6]

# test/check_main_2/in_chsets.dat (commit f6d0200), one token per choice set (6 + 6 levels)
CHECK_MAIN_2_TEXT = """
300701012631 344405033101 055031000101 033101344405 301630055031 300105005023 000105344105
005031301130 055011333505 000705300701 305013004410 303523000701 000701300101 301631304413
033101301130 300705012631 355031044105 305011000101 300105044405 001130033501 355031300705
000105305023 005023303510 344405033101 333105000705 305011003513 300101044101 000105004410
355023300105 355011322105 000701344401 355031005031 005031312630 001031300101 005013001623
044405333101 305031003512 355011312023 300105355031 005023000101 300701033101 000105344405
044405300105 312631000701 033501301630 001130005011 300705044105 055031000701 005011300101
355031044401 000705300105 000701300705 305023004210 055031301631 344405005023 001130033501
300105033101 312631000701 055011022105 344105312630 000101344101 001630333501 305031005013
000101333105 305011044401 000705303523 303513005011 000705300701 355031001631 055023312130
344405000105 301130055023 055031344401 000701055031 344405033101 303523000701 312630000705
300105000101 005031315013 301031000105 001130302623 005023304210 055011333505 300105001130
355031044405 001130300105 005031303512 300701301130 005011300101 203523005011 301623034130
355011022601 000105000701 344105312631 005031203513 334430001023 305013312623 300701033505
344105304410 055011012023 000705000101 301130001623 055031305031 000105300705 033501300101
305023344101 305031001130 004410055031 003530301023 333505000701 301130002623 355031044405
005013315031 044401355031 305011000101 300105033101 300705301130 055011022605 044105333501
004423304110 005031033101 355011033505 005023044101 301130012623 300705300101 005013303530
355031304410 003523300705 344401000101 000105301031 355011322605 001031005013 003523305011
000705312630 355011033105 344401303523 301630033501 300705044105 305011044401 305031300101
000105000701 044105300705 000105301130 055031000101 344101000701 333505305031 355031300101
000705333501 005013001123 305031004410 304410044401 000701000105 000105300705 301123012630
055031344105 044405333101 003523300705 001630333501 344405033101 300105312623 300701000101
333101000701 044105001130 300705044105 001023005013 005031303510 355031300101 005011304431
000705044401 000105300101 004430301023 300701003523 305023005011 312630000705 333501044105
001131300101 344405033101 044105012630 305031300701 055011333505 355031300701 005031000105
001630305031 344105000705 003523044401 044405333101 355011033505 305013301023 000701312631
300101044101 333105000101 300105304410 005011300701 303523005011 301130000105 300705012630
355011322605 344405033101 055031344101 000101301131 001630301023 005013055023 005031303513
301023034430 355011033105 044105305023 001630303513 300705012630 355031044401 005023304110
303523300101 305013015031 001130301623 000101055031 012631300701 344405000705 301130012631
300705000105 055011333105 001631303510 000105344405 000105055031 005031000701 300701044101
305013301123 355031305013 044105333501 344401000101 055031000705 044105012631 333501344105
301631033501 000101344401 005011300101 000705005011 300705301130 304430001023 355023004430
005031305013 300105300701 305031333501 305013301631 000105000701 000705303510 005031304413
055011333105 301031000101 300701044101 055023312630 303523000701 044405305023 301130000105
033105300101 044405333101 355031044101 000705001130 355031044401 300705012630 003523333505
005013304431 000101305011 300101300705 301630001023 305011000701 001623312130 305011044101
055011333505 300105033101 001130300105 303523300101 344401000701 055031344401 300705003523
005031301630 000705005011 305031004413 300101300705 355031001031 305023004410 044405333101
344105033501 001630355031 300705005023 003513301630 355011312123 305031300701 005031000101
004410044105 305013044105 300701044401 355031300101 055031000705 005011304423 304430005013
001023312630 000701333101 033105300101 044105333501 300105001031 301631003510 300705012630
001031300101 000105333101 005011344101 355023305013 305013004430 303530001123 012623055011
044401300701 005031033501 333101000105 344105000705 001631005013 033505300701 355023012130
300705305011 004410001630 001130300105 000705303523 344105033501 055031344401 305023004310
305031300101 300101033105 300701000101 305013004330 303530055023 055031301623 301623012130
005023305011 001130312631 005011344101 300105044405 044405300105 300705033501 355031300701
355011033505 001630303510 055031344101 305023000105 001131300101 000105055023 303530012023
305013004431 300705305011 333101301630 044405033101 000705300701 004410315023 301023002630
005013300105 344105033501 055011333105 305031003513 005031301031 000105301130 301630304410
300705000701 344401000101 355031044101 000105012623 304410015023 300705355031 000101300701
303523000701 305011300105 305031003510 055031344105 005013304410 055031301031 344405033101
012623005013 344105033501 055031005013 055031344401 300105005023 033501344105 001123312630
305011000701 300701300105 301630003510 305013301031 000705312631 304430001123 355011033105
000705344105 305023003510 005031301631 333101000701 055011322601 301031000101 300105044405
044401300101 344105005013 055013334130 003530312023 003513301631 301023012630 055031000701
001130355023 304430012023 005023304410 001630033505 300705305031 333101000105 305011301130
055031344101 300105000101 333101044405 303530001023 301230012623 312623001230 044105355031
000105333101 005031000701 004423305011 355013034130 305031103513 000705300105 005011300701
005011344401 055031005011 344405312130 000101003523 300705044105 003523300701 355031300105
001630333501 001023302630 334130001623 305031015013 300705000701 305031012630 055031000101
003530301123 055011333105 005023304310 300701005011 300105044405 333105000101 000101301031
012631300701 344405300701 305013003530 000705000101 000101301031 355011033505 333501044105
300105300701 055023304430 004431305011 305013301623 044105012630 305031333101 000705000101
301130344105 003530355023 355023012630 033105300101 001631305031 000705333501 300101001031
001031300101 300101044401 305023004110 344405300701 005031000705 355011033105 005011344401
303523333101 305013003510 055011022605 355031305011 000705000101 300101000701 001130312623
344405000105 001623334430 000705344105 355031001130
"""

# test/check_main_2/out_msg.orig: "Warning: choice sets ... are duplicates."
CHECK_MAIN_2_REPEATS = [
    24, 56, 58, 68, 75, 75, 76, 83, 89, 112, 115, 116, 138, 139, 141, 144, 153, 156, 157, 158,
    159, 159, 159, 164, 164, 167, 174, 177, 177, 177, 177, 180, 180, 186, 186, 187, 190, 197,
    198, 198, 198, 198, 198, 205, 208, 209, 221, 227, 228, 234, 234, 236, 243, 243, 246, 248,
    250, 250, 252, 254, 254, 254, 257, 257, 258, 258, 267, 267, 267, 268, 268, 269, 270, 272,
    275, 277, 280, 280, 280, 280, 286, 291, 291, 292, 297, 298, 298, 301, 301, 301, 302, 312,
    318, 318, 319, 320, 321, 321, 323, 325, 332, 333, 334, 336, 337, 337, 339, 341, 345, 348,
    348, 352, 352, 353, 353, 356, 359, 359, 360, 365, 365, 365, 368, 371, 371, 371, 371, 371,
    371, 373, 373, 373, 375, 375, 375, 376, 379, 385, 385, 389, 391, 392, 392, 399, 405, 407,
    407, 408, 414, 415, 419, 420, 425, 425, 425, 428, 428, 432, 434, 434, 436, 436, 436, 439,
    439, 439, 440, 442, 445, 446, 447, 447, 447, 448, 449, 453, 455, 455, 459, 459, 461, 463,
    463, 466, 468, 468, 468, 469, 472, 474, 474, 474, 477, 479,
]  # fmt: skip


def test_uts_check_main_2_unestimable_design_has_zero_efficiency_and_the_stated_c():
    """UTS "Discrete Choice Experiments", test case check_main_2: 6 attributes with 4, 6, 6, 8,
    4, 6 levels, m = 2, 480 pairs of which the program keeps 354 (test/check_main_2, commit
    f6d0200).

    Stated (out_msg.orig): the repeated sets listed above, "Number of choicesets: 354", "The
    determinant of the C matrix is zero", efficiency 0% (m = 2 and m = 24). C of the 354 sets
    (out_cmat.orig, polynomial contrasts, 28 x 28): checked entrywise on the block of attribute 1,
    on the attribute 1 x attribute 2 block and on the first row of attribute 5's block.
    """
    sets = _parse(CHECK_MAIN_2_TEXT, m=2, k=6)
    assert len(sets) == 480
    unique, repeats = _drop_repeats(sets)
    assert repeats == CHECK_MAIN_2_REPEATS
    assert len(unique) == 354
    for design, label in [(sets, "480 sets"), (unique, "354 sets")]:
        eff = street_burgess_efficiency(design, LEVELS_466846)
        assert eff == 0.0, f"check_main_2 ({label}): winback {eff:.4%}, reference 0%"
    c = street_burgess_information(unique, LEVELS_466846)
    ev = np.linalg.eigvalsh(c)
    assert ev[0] < 1e-12 * ev[-1], "check_main_2: C should be singular (one zero eigenvalue)"
    assert ev[1] > 1e-3 * ev[-1], "check_main_2: one direction only is not estimable (computed)"
    cp = _to_polynomial_basis(c, LEVELS_466846)
    s5, s21, s70, s6, s210 = (math.sqrt(v) for v in (5, 21, 70, 6, 210))
    block_1 = np.array(
        [
            [757 / 16312320, -s5 / 24468480, 83 / 5437440],
            [-s5 / 24468480, 1 / 3262464, s5 / 48936960],
            [83 / 5437440, s5 / 48936960, 127 / 24468480],
        ]
    )
    block_12 = np.array(
        [
            [s21 / 38062080, s70 / 25374720, s6 / 5437440, s210 / 38062080, s210 / 76124160],
            [0, 0, 0, 0, 0],
            [s21 / 114186240, s70 / 76124160, s6 / 16312320, s210 / 114186240, s210 / 228372480],
        ]
    )
    row_5 = np.array([119 / 5437440, s5 / 815616, 13 / 5437440])
    np.testing.assert_allclose(cp[:3, :3], block_1, rtol=1e-10, atol=1e-18)
    np.testing.assert_allclose(cp[:3, 3:8], block_12, rtol=1e-10, atol=1e-18)
    np.testing.assert_allclose(cp[20, 20:23], row_5, rtol=1e-10, atol=1e-18)
    np.testing.assert_allclose(
        _reference_information(unique, LEVELS_466846)[:3, :8],
        np.hstack([block_1, block_12]),
        rtol=1e-10,
        atol=1e-18,
    )


def test_uts_check_main_2_zero_efficiency_does_not_depend_on_the_order_of_the_sets():
    """Same choice sets as check_main_2 (reference: det C is zero, efficiency 0%), listed in 20
    seeded random orders with the two options of some sets swapped; C is mathematically the same
    for every order. Deciding singularity from the sign of det(C) once gave 5.2-5.5% for 4 of
    these orders (rounding noise); the eigenvalue test gives 0% for all."""
    sets = _parse(CHECK_MAIN_2_TEXT, m=2, k=6)
    rng = np.random.default_rng(20070601)
    effs = []
    for _ in range(20):
        order = sets[rng.permutation(len(sets))].copy()
        swap = rng.random(len(order)) < 0.5
        order[swap] = order[swap][:, ::-1]
        effs.append(street_burgess_efficiency(order, LEVELS_466846))
    assert max(effs) == 0.0, f"check_main_2 reordered: winback up to {max(effs):.4%}, ref 0%"


# -- UTS construct_main_2 and Bush's README: 2 x 2, pairs -------------------------------------


def test_uts_construct_main_2_two_by_two_with_generator_11_is_optimal():
    """UTS "Discrete Choice Experiments", test case construct_main_2 (website "Construct
    Example 2"): the 2 x 2 factorial plus generator (1, 1), m = 2.

    Stated: choice sets 00/11, 01/10, 10/01, 11/00 (out_chsets.orig), "choice sets 3, 4 are
    duplicates", 2 choice sets, det C = 0.0625, efficiency 100.0% (out_msg.dat, commit 6e5ec67),
    C = diag(1/4, 1/4) (out_cmat.orig, commit f8f209f). winback keeps repeated sets; here each
    pair appears twice, which leaves C unchanged.
    """
    sets = _from_generators([[0, 0], [0, 1], [1, 0], [1, 1]], [[1, 1]], [2, 2])
    assert np.array_equal(sets, _parse("0011 0110 1001 1100", m=2, k=2))
    for design in (sets, sets[:2]):
        c = street_burgess_information(design, [2, 2])
        np.testing.assert_allclose(_to_polynomial_basis(c, [2, 2]), np.eye(2) / 4, atol=1e-15)
        det = float(np.linalg.det(c))
        assert det == pytest.approx(0.0625, rel=1e-12), f"det C: winback {det}, reference 0.0625"
        eff = street_burgess_efficiency(design, [2, 2])
        assert eff == pytest.approx(1.0, abs=5e-9), f"winback {eff:.6%}, reference 100.0%"


def test_bush_readme_example_1_second_2x2_design_is_50_percent():
    """S. Bush, "Discrete Choice Designer" README (github.com/sabush/dce-design, Readme.md,
    commit 7fdda8e), Example 1: two 2-level factors, m = 2. The foldover 00/11, 01/10 has
    "determinant of the information matrix 0.0625" and 100% relative D-efficiency; the design
    00/10, 01/11, 00/01, 01/00 "has 50% relative D-efficiency"."""
    foldover = _parse("0011 0110", m=2, k=2)
    det = float(np.linalg.det(street_burgess_information(foldover, [2, 2])))
    assert det == pytest.approx(0.0625, rel=1e-12), f"winback {det}, README 0.0625"
    eff = street_burgess_efficiency(foldover, [2, 2])
    assert eff == pytest.approx(1.0, abs=1e-12), f"winback {eff:.4%}, README 100%"
    second = _parse("0010 0111 0001 0100", m=2, k=2)
    eff = street_burgess_efficiency(second, [2, 2])
    assert eff == pytest.approx(0.5, abs=5e-3), f"winback {eff:.4%}, README 50%"


# -- choice sets of size 3: cross-checks against the transcribed reference algorithm ----------

FF_223 = np.array(list(itertools.product(range(2), range(2), range(3))))
FF_432 = np.array(list(itertools.product(range(4), range(3), range(2))))

# views/help.tpl (commit 54a3a87), "Enter the choice sets to be checked", example for m = 3
HELP_CHECK_SETS = _parse(
    "000101012 001102010 002100011 010111002 011112000 012110001 "
    "100001112 101002110 102000111 110011102 111012100 112010101",
    m=3,
    k=3,
)


@pytest.mark.parametrize(
    ("label", "levels", "start", "generators"),
    [
        # help.tpl: generator set "1 0 1 0 1 2" on the 2 x 2 x 3 factorial (no number stated)
        ("help page, generators 101 012", [2, 2, 3], FF_223, [[[1, 0, 1], [0, 1, 2]]]),
        # help.tpl: both example generator sets, "1 0 1 0 1 2" and "1 1 1 1 0 2"
        (
            "help page, both generator sets",
            [2, 2, 3],
            FF_223,
            [[[1, 0, 1], [0, 1, 2]], [[1, 1, 1], [1, 0, 2]]],
        ),
        # Bush README Example 3: 2 x 2 x 3 factorial, generator (111, 112) (result only in images)
        ("Bush README example 3", [2, 2, 3], FF_223, [[[1, 1, 1], [1, 1, 2]]]),
        # computed here, not from any source: 4 x 3 x 2 factorial, generators (111, 210)
        ("computed 4x3x2, generators 111 210", [4, 3, 2], FF_432, [[[1, 1, 1], [2, 1, 0]]]),
    ],
)
def test_choice_sets_of_size_three_match_the_reference_algorithm(label, levels, start, generators):
    """No source states a number for a main-effects design with m = 3, so these designs are
    checked against ``_reference_information`` / ``_reference_optimum``, a transcription of the
    UTS program's algorithm (validated on check_main_1 above): same C in the polynomial basis,
    same efficiency. Designs come from the UTS help page (help.tpl) and Bush's README, built by
    adding the generators mod l_q to the complete factorial; the help page's listed choice sets
    are checked to be that construction."""
    sets = np.concatenate([_from_generators(start, g, levels) for g in generators])
    if label.startswith("help page, generators"):
        assert np.array_equal(sets, HELP_CHECK_SETS)
    c = street_burgess_information(sets, levels)
    c_ref = _reference_information(sets, levels)
    np.testing.assert_allclose(_to_polynomial_basis(c, levels), c_ref, rtol=1e-10, atol=1e-15)
    p = c.shape[0]
    eff_ref = (np.linalg.det(c_ref) / float(_reference_optimum(levels, 3))) ** (1 / p)
    eff = street_burgess_efficiency(sets, levels)
    assert eff == pytest.approx(eff_ref, rel=1e-10), (
        f"{label}: winback {eff:.6%}, reference algorithm {eff_ref:.6%} (computed)"
    )


# -- the optimum: book's Theorem 6.3.1 as coded in the reference program ----------------------


@pytest.mark.parametrize(
    "levels",
    [[2], [3], [4], [2, 2, 2], [2, 2, 3], [4, 3, 3, 3], [3] * 7, [4, 6, 6, 8, 4, 6], [5, 2, 7]],
)
@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 7, 8, 12])
def test_optimum_matches_the_reference_program(levels, m):
    """street_burgess_optimum against the optimal det C coded in process_choices.py (the book's
    S_q rule for 2-level attributes, l_q >= m, and l_q < m), in exact arithmetic."""
    want = float(_reference_optimum(levels, m))
    got = street_burgess_optimum(levels, m)
    assert got == pytest.approx(want, rel=1e-12), f"{levels}, m={m}: winback {got}, ref {want}"


@pytest.mark.parametrize("levels", [[4, 3, 3, 3], [3] * 7, [4, 6, 6, 8, 4, 6], [2, 2, 3]])
def test_optimum_at_the_optimal_choice_set_size_is_one_over_l_to_the_p(levels):
    """process_choices.py prints a second efficiency "compared with optimal design for optimal
    choice set size m = lcm(levels)" using det C_opt = (1/L)^p (``optdet2``); check_main_1 and
    check_main_3 above confirm it against stated numbers (m = 12 and m = 3)."""
    m = math.lcm(*levels)
    big_l = math.prod(levels)
    p = sum(q - 1 for q in levels)
    got = street_burgess_optimum(levels, m)
    assert got == pytest.approx(big_l ** (-p), rel=1e-12), f"{levels}, m={m}: winback {got}"
