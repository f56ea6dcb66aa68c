"""Builds eval_pairs.csv, the labelled name-matching evaluation set (run it to regenerate the CSV).

Every person below was written by hand in the spellings their documents really take: Azerbaijani
Latin (``az``), the Azerbaijani passport's ICAO transliteration (``en``), Russian Cyrillic as in
Soviet/Russian documents (``ru``) and its older English transliteration (``ru_lat``). Positives pair
two spellings of one person, sometimes reordered, without the patronymic, with a typo (seeded), with
initials or an honorific; negatives pair different people who share a surname or a given name, or
whose names sound alike. Hand-written pairs cover other CIS names, Georgian, Armenian and Arabic
script. The names are invented combinations of common name parts, not real designated persons.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (given az, given en, given ru), (surname az, surname en, surname ru, surname ru_lat),
# (patronymic az, patronymic ru_ogly, patronymic ru_ovich), female?
AZ_PEOPLE = [
    (
        ("Əli", "Ali", "Али"),
        ("Məmmədov", "Mammadov", "Мамедов", "Mamedov"),
        ("Həsən", "Гасан", "Гасанович"),
        False,
    ),
    (
        ("Elçin", "Elchin", "Эльчин"),
        ("Həsənov", "Hasanov", "Гасанов", "Gasanov"),
        ("Vaqif", "Вагиф", "Вагифович"),
        False,
    ),
    (
        ("Rəşad", "Rashad", "Рашад"),
        ("Hüseynov", "Huseynov", "Гусейнов", "Guseynov"),
        ("Tofiq", "Тофик", "Тофикович"),
        False,
    ),
    (
        ("Vüqar", "Vugar", "Вугар"),
        ("Quliyev", "Guliyev", "Кулиев", "Kuliev"),
        ("Əhməd", "Ахмед", "Ахмедович"),
        False,
    ),
    (
        ("Ceyhun", "Jeyhun", "Джейхун"),
        ("Cəfərov", "Jafarov", "Джафаров", "Dzhafarov"),
        ("Rafiq", "Рафик", "Рафикович"),
        False,
    ),
    (
        ("Xəyal", "Khayal", "Хаял"),
        ("Xəlilov", "Khalilov", "Халилов", "Khalilov"),
        ("Zahid", "Загид", "Загидович"),
        False,
    ),
    (
        ("Tofiq", "Tofig", "Тофик"),
        ("Rəhimov", "Rahimov", "Рагимов", "Ragimov"),
        ("Şahin", "Шахин", "Шахинович"),
        False,
    ),
    (
        ("Nicat", "Nijat", "Ниджат"),
        ("Əliyev", "Aliyev", "Алиев", "Aliev"),
        ("Elxan", "Эльхан", "Эльханович"),
        False,
    ),
    (
        ("Rövşən", "Rovshan", "Ровшан"),
        ("İsmayılov", "Ismayilov", "Исмайлов", "Ismailov"),
        ("Kamil", "Камиль", "Камильевич"),
        False,
    ),
    (
        ("Orxan", "Orkhan", "Орхан"),
        ("Əhmədov", "Ahmadov", "Ахмедов", "Akhmedov"),
        ("Yaşar", "Яшар", "Яшарович"),
        False,
    ),
    (
        ("Tural", "Tural", "Турал"),
        ("Bağırov", "Baghirov", "Багиров", "Bagirov"),
        ("Məmməd", "Мамед", "Мамедович"),
        False,
    ),
    (
        ("Kamran", "Kamran", "Камран"),
        ("Qasımov", "Gasimov", "Касумов", "Kasumov"),
        ("Nazim", "Назим", "Назимович"),
        False,
    ),
    (
        ("Zaur", "Zaur", "Заур"),
        ("Vəliyev", "Valiyev", "Велиев", "Veliev"),
        ("İlqar", "Ильгар", "Ильгарович"),
        False,
    ),
    (
        ("Fərid", "Farid", "Фарид"),
        ("Kərimov", "Karimov", "Керимов", "Kerimov"),
        ("Sabir", "Сабир", "Сабирович"),
        False,
    ),
    (
        ("Samir", "Samir", "Самир"),
        ("Süleymanov", "Suleymanov", "Сулейманов", "Suleimanov"),
        ("Arif", "Ариф", "Арифович"),
        False,
    ),
    (
        ("Cavid", "Javid", "Джавид"),
        ("Orucov", "Orujov", "Оруджев", "Orudzhev"),
        ("Fikrət", "Фикрет", "Фикретович"),
        False,
    ),
    (
        ("Elnur", "Elnur", "Эльнур"),
        ("İbrahimov", "Ibrahimov", "Ибрагимов", "Ibragimov"),
        ("Mübariz", "Мубариз", "Мубаризович"),
        False,
    ),
    (
        ("Anar", "Anar", "Анар"),
        ("Məhərrəmov", "Maharramov", "Магеррамов", "Magerramov"),
        ("Telman", "Тельман", "Тельманович"),
        False,
    ),
    (("Emin", "Emin", "Эмин"), ("Rzayev", "Rzayev", "Рзаев", "Rzaev"), ("Oqtay", "Октай", "Октаевич"), False),
    (
        ("Şahin", "Shahin", "Шахин"),
        ("Babayev", "Babayev", "Бабаев", "Babaev"),
        ("Rasim", "Расим", "Расимович"),
        False,
    ),
    (
        ("Pərviz", "Parviz", "Парвиз"),
        ("Sadıqov", "Sadigov", "Садыхов", "Sadykhov"),
        ("Eldar", "Эльдар", "Эльдарович"),
        False,
    ),
    (
        ("Ramil", "Ramil", "Рамиль"),
        ("Nağıyev", "Naghiyev", "Нагиев", "Nagiev"),
        ("Vidadi", "Видади", "Видадиевич"),
        False,
    ),
    (
        ("Elşən", "Elshan", "Эльшан"),
        ("Əsgərov", "Asgarov", "Аскеров", "Askerov"),
        ("Mirzə", "Мирза", "Мирзаевич"),
        False,
    ),
    (
        ("Vüsal", "Vusal", "Вюсал"),
        ("Hacıyev", "Hajiyev", "Гаджиев", "Gadzhiev"),
        ("Nadir", "Надир", "Надирович"),
        False,
    ),
    (
        ("Heydər", "Heydar", "Гейдар"),
        ("Zeynalov", "Zeynalov", "Зейналов", "Zeinalov"),
        ("Qalib", "Галиб", "Галибович"),
        False,
    ),
    (
        ("Çingiz", "Chingiz", "Чингиз"),
        ("Qurbanov", "Gurbanov", "Курбанов", "Kurbanov"),
        ("Sərdar", "Сардар", "Сардарович"),
        False,
    ),
    (
        ("İlham", "Ilham", "Ильхам"),
        ("Mustafayev", "Mustafayev", "Мустафаев", "Mustafaev"),
        ("Nəriman", "Нариман", "Нариманович"),
        False,
    ),
    (
        ("Hüseyn", "Huseyn", "Гусейн"),
        ("Allahverdiyev", "Allahverdiyev", "Аллахвердиев", "Allakhverdiev"),
        ("Bəhruz", "Бахруз", "Бахрузович"),
        False,
    ),
    (
        ("Rauf", "Rauf", "Рауф"),
        ("Tağıyev", "Taghiyev", "Тагиев", "Tagiev"),
        ("Əziz", "Азиз", "Азизович"),
        False,
    ),
    (
        ("Mirzə", "Mirza", "Мирза"),
        ("Hümbətov", "Humbatov", "Гумбатов", "Gumbatov"),
        ("Xanlar", "Ханлар", "Ханларович"),
        False,
    ),
    (
        ("Leyla", "Leyla", "Лейла"),
        ("Məmmədova", "Mammadova", "Мамедова", "Mamedova"),
        ("Rafiq", "Рафик", "Рафиковна"),
        True,
    ),
    (
        ("Səbinə", "Sabina", "Сабина"),
        ("Əliyeva", "Aliyeva", "Алиева", "Alieva"),
        ("Vaqif", "Вагиф", "Вагифовна"),
        True,
    ),
    (
        ("Günel", "Gunel", "Гюнель"),
        ("Həsənova", "Hasanova", "Гасанова", "Gasanova"),
        ("Elman", "Эльман", "Эльмановна"),
        True,
    ),
    (
        ("Aynur", "Aynur", "Айнур"),
        ("Quliyeva", "Guliyeva", "Кулиева", "Kulieva"),
        ("Arif", "Ариф", "Арифовна"),
        True,
    ),
    (
        ("Nərmin", "Narmin", "Нармин"),
        ("Cəfərova", "Jafarova", "Джафарова", "Dzhafarova"),
        ("Tahir", "Тахир", "Тахировна"),
        True,
    ),
    (
        ("Sevinc", "Sevinj", "Севиндж"),
        ("Kərimova", "Karimova", "Керимова", "Kerimova"),
        ("Namiq", "Намик", "Намиковна"),
        True,
    ),
    (
        ("Ülviyyə", "Ulviyya", "Ульвия"),
        ("Rəhimova", "Rahimova", "Рагимова", "Ragimova"),
        ("Səməd", "Самед", "Самедовна"),
        True,
    ),
    (
        ("Aygün", "Aygun", "Айгюн"),
        ("Hüseynova", "Huseynova", "Гусейнова", "Guseynova"),
        ("Kamal", "Камал", "Камаловна"),
        True,
    ),
    (
        ("Lalə", "Lala", "Лала"),
        ("Abbasova", "Abbasova", "Аббасова", "Abbasova"),
        ("Yusif", "Юсиф", "Юсифовна"),
        True,
    ),
    (
        ("Nigar", "Nigar", "Нигяр"),
        ("Xəlilova", "Khalilova", "Халилова", "Khalilova"),
        ("Zakir", "Закир", "Закировна"),
        True,
    ),
    (
        ("Könül", "Konul", "Кёнуль"),
        ("Əsədova", "Asadova", "Асадова", "Asadova"),
        ("Rövşən", "Ровшан", "Ровшановна"),
        True,
    ),
    (
        ("Mehriban", "Mehriban", "Мехрибан"),
        ("Novruzova", "Novruzova", "Новрузова", "Novruzova"),
        ("Əkbər", "Акпер", "Акперовна"),
        True,
    ),
]

# Hand-written positives: other CIS names, Georgian, Armenian and Arabic script.
OTHER_POSITIVES = [
    ("Нурсултан Абишевич Назарбаев", "Nursultan Nazarbayev", "Kazakh, patronymic dropped"),
    ("Қасымов Ерлан Болатұлы", "Kassymov Yerlan", "Kazakh letters, -uly patronymic"),
    ("Yerlan Bolat uly Kassymov", "Ерлан Касымов", "Kazakh, uly patronymic"),
    ("Алишер Усманов", "Alisher Usmanov", "Uzbek, Cyrillic"),
    ("Oʻktam Gʻulomov", "Уктам Гуломов", "Uzbek Latin okina"),
    ("Shavkat Mirziyoyev", "Шавкат Мирзиёев", "Uzbek"),
    ("Rustam Olimovich Karimov", "Рустам Каримов", "Tajik, patronymic dropped"),
    ("Emomali Rahmon", "Эмомали Рахмон", "Tajik"),
    ("Almazbek Atambaev", "Алмазбек Атамбаев", "Kyrgyz"),
    ("Kubanychbek Ashyrbek uulu", "Кубанычбек Ашырбек уулу", "Kyrgyz uulu"),
    ("Айгуль Серикбаевна Жумабаева", "Aigul Zhumabayeva", "Kazakh female"),
    ("Гульнара Каримова", "Gulnara Karimova", "Uzbek female"),
    ("Владимир Владимирович Путин", "Vladimir Putin", "Russian patronymic dropped"),
    ("Путин Владимир Владимирович", "PUTIN, Vladimir Vladimirovich", "OFAC order"),
    ("Дмитрий Анатольевич Медведев", "Dmitry Medvedev", "Russian"),
    ("Евгений Викторович Пригожин", "Yevgeniy Viktorovich Prigozhin", "Russian, OFAC spelling"),
    ("Игорь Иванович Сечин", "Igor Sechin", "Russian"),
    ("Сергей Кужугетович Шойгу", "Sergei Shoigu", "Russian"),
    ("Виктор Фёдорович Янукович", "Viktor Yanukovych", "Ukrainian spelling"),
    ("Александр Григорьевич Лукашенко", "Aleksandr Lukashenka", "Belarusian spelling"),
    ("Олег Дерипаска", "Oleg Deripaska", "Russian"),
    ("Ротенберг Аркадий Романович", "Arkady Rotenberg", "Russian, surname first"),
    ("Юрий Ковальчук", "Yury Kovalchuk", "soft sign"),
    ("Шерзод Ёкубов", "Sherzod Yokubov", "Uzbek, yo"),
    ("ბიძინა ივანიშვილი", "Bidzina Ivanishvili", "Georgian script"),
    ("მიხეილ სააკაშვილი", "Mikheil Saakashvili", "Georgian script"),
    ("ზურაბ ჟვანია", "Zurab Zhvania", "Georgian script"),
    ("ნინო ბურჯანაძე", "Nino Burjanadze", "Georgian script"),
    ("Սերժ Սարգսյան", "Serzh Sargsyan", "Armenian script"),
    ("Ռոբերտ Քոչարյան", "Robert Kocharyan", "Armenian script"),
    ("Նիկոլ Փաշինյան", "Nikol Pashinyan", "Armenian script"),
    ("Արամ Խաչատրյան", "Aram Khachaturian", "Armenian, -yan/-ian"),
    ("Գագիկ Ծառուկյան", "Gagik Tsarukyan", "Armenian script"),
    ("محمد علي", "Mohamed Ali", "Arabic script"),
    ("أحمد حسن", "Ahmed Hassan", "Arabic script"),
    ("خالد محمود", "Khaled Mahmoud", "Arabic script"),
    ("عبد الله عمر", "Abdullah Omar", "Arabic script, split abd"),
    ("صدام حسين", "Saddam Hussein", "Arabic script"),
    ("علي حسن المجيد", "Ali Hassan al-Majid", "Arabic script, article"),
    ("عزت ابراهيم الدوري", "Izzat Ibrahim al-Duri", "Arabic script"),
    ("Abd al-Rahman Yusuf", "Abdulrahman Yousef", "Arabic in Latin"),
    ("Muhammad Hasan al-Tikriti", "Mohammed Hassan Tikriti", "Arabic in Latin"),
    ("Sheikh Yusuf Qaradawi", "Yusuf al-Qaradawi", "honorific, article"),
    ("Dr. Ayman al-Zawahiri", "Ayman Zawahiri", "honorific"),
    ("Mr Ali Hasan ogly Mamedov", "Məmmədov Əli", "honorific and patronymic"),
    ("Haji Mirza Aghayev", "Мирза Агаев", "honorific"),
    ("Ağayev Mirzə müəllim", "Mirza Aghayev", "post-name honorific"),
    ("Leyla xanım Əliyeva", "Leyla Aliyeva", "xanım honorific"),
    ("E. M. Hasanov", "Elchin Mammad oglu Hasanov", "initials"),
    ("MAMMADOV, A.", "Ali Mammadov", "OFAC order, initial"),
]

# Hand-written hard negatives: names that sound alike but are not the same name.
SIMILAR_NEGATIVES = [
    ("Rashad Mammadov", "Rashid Mahmudov", "similar given and surname"),
    ("Elnur Hasanov", "Elmir Hasanli", "similar given, -ov vs -li"),
    ("Kamran Aliyev", "Kamal Valiyev", "similar sounding"),
    ("Farid Karimov", "Farhad Kazimov", "similar sounding"),
    ("Zaur Rzayev", "Zakir Rzayev", "same surname, similar given"),
    ("Samir Abbasov", "Sabir Abbasov", "same surname, one letter"),
    ("Anar Huseynov", "Anvar Hasanov", "similar both"),
    ("Leyla Mammadova", "Lala Mahmudova", "similar both"),
    ("Aynur Guliyeva", "Aygun Aliyeva", "similar both"),
    ("Tural Babayev", "Tural Bayramov", "same given, B-surname"),
    ("Orkhan Ahmadov", "Ozan Ahmadov", "same surname"),
    ("Vugar Isgandarov", "Vusal Iskenderli", "similar"),
    ("Murad Nasirov", "Murat Nasiri", "Turkish vs Persian surname"),
    ("Emin Rzayev", "Emil Rzayev", "one letter given"),
    ("Nijat Mammadli", "Nijat Mammadov", "-li vs -ov, same given"),
    ("Ilham Aliyev", "Ilkin Aliyev", "same surname, Il- given"),
    ("Ilham Aliyev", "Ilham Alizada", "same given, Ali- surname"),
    ("Sergei Ivanov", "Sergei Ivanenko", "Russian vs Ukrainian surname"),
    ("Aleksandr Petrov", "Aleksei Petrenko", "similar"),
    ("Dmitry Medvedev", "Dmitry Medvedchuk", "same start"),
    ("Viktor Yanukovych", "Viktor Yushchenko", "same given"),
    ("Igor Sechin", "Igor Semin", "one letter"),
    ("Yury Kovalchuk", "Yury Kovalenko", "same stem"),
    ("Arkady Rotenberg", "Boris Rotenberg", "same surname, brother"),
    ("Oleg Deripaska", "Oleg Derkach", "same given, Der-"),
    ("Rustam Karimov", "Rustam Kasimov", "one letter"),
    ("Gulnara Karimova", "Gulnara Kerimli", "similar surname, another form"),
    ("Aram Khachatryan", "Aram Khachikyan", "Armenian -yan stems"),
    ("Serzh Sargsyan", "Tigran Sargsyan", "same surname"),
    ("Nikol Pashinyan", "Nikol Pogosyan", "same given"),
    ("Zurab Zhvania", "Zurab Zhordania", "same given"),
    ("Bidzina Ivanishvili", "Bidzina Ivanidze", "Georgian stems"),
    ("Mohamed Ali", "Mohamed Alim", "Arabic, longer"),
    ("Ahmed Hassan", "Ahmed Hussein", "Hasan vs Husayn"),
    ("Khaled Mahmoud", "Khalil Mahmoud", "same surname"),
    ("Saddam Hussein", "Saddam Hassan", "same given"),
    ("Abdullah Omar", "Abdulrahman Omar", "abd- names"),
    ("Yusuf Qaradawi", "Yusuf Qardash", "same given"),
    ("Ayman Zawahiri", "Ayman Zahiri", "similar surname"),
    ("Мамедов Али", "Мамедов Алим", "Cyrillic, longer given"),
    ("Гасанов Эльчин", "Гусейнов Эльчин", "Hasanov vs Huseynov in Cyrillic"),
    ("Алиев Ильхам", "Алиев Ильгар", "Cyrillic, Il- given"),
    ("Кулиев Вугар", "Кулиев Вусал", "Cyrillic"),
    ("Джафаров Джейхун", "Джафаров Джавид", "Cyrillic, Dzh- given"),
    ("Əliyev Nicat", "Vəliyev Nicat", "Aliyev vs Valiyev"),
    ("Həsənov Elçin", "Hüseynov Elçin", "Hasanov vs Huseynov"),
    ("Məmmədov Əli", "Məhəmmədov Əli", "Mammadov vs Mahammadov"),
    ("Quliyev Vüqar", "Qələndərov Vüqar", "same given, Q- surname"),
    ("Kərimov Fərid", "Kazımov Fərhad", "similar both"),
]

TYPO_NEIGHBOURS = {
    "a": "sqz", "e": "wrd", "i": "uok", "o": "ipl", "u": "yij", "r": "etf", "t": "ryg", "n": "bmh",
    "m": "n", "s": "adz", "d": "sfe", "l": "k", "v": "bc", "h": "gj", "k": "jl", "y": "tu", "g": "fh",
}  # fmt: skip


def typo(word: str, rng: random.Random) -> str:
    """One realistic keyboard error: a swap, a drop, a double, or a neighbouring key."""
    if len(word) < 5:
        return word
    position = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "neighbour"])
    if kind == "swap":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if kind == "drop":
        return word[:position] + word[position + 1 :]
    if kind == "double":
        return word[:position] + word[position] + word[position:]
    letter = word[position].lower()
    replacement = rng.choice(TYPO_NEIGHBOURS.get(letter, "e"))
    return word[:position] + replacement + word[position + 1 :]


def az_positives(rng: random.Random) -> list[tuple[str, str, str]]:
    rows = []
    for index, (given, surname, patronymic, female) in enumerate(AZ_PEOPLE):
        g_az, g_en, g_ru = given
        s_az, s_en, s_ru, s_rulat = surname
        p_az, p_ru, p_ruv = patronymic
        marker_az, marker_ru = ("qızı", "кызы") if female else ("oğlu", "оглы")
        g_rulat = g_en
        rows.append((f"{g_az} {s_az}", f"{s_ru} {g_ru}", "Azerbaijani Latin vs Cyrillic, reordered"))
        rows.append(
            (f"{g_az} {p_az} {marker_az} {s_az}", f"{g_en} {s_en}", "Azerbaijani with patronymic vs passport")
        )
        rows.append(
            (f"{s_ru} {g_ru} {p_ruv}", f"{g_rulat} {s_rulat}", "Russian full with -ovich vs old Latin")
        )
        rows.append((f"{s_en.upper()}, {g_en}", f"{g_az} {s_az}", "OFAC-style order vs Azerbaijani"))
        if index % 2 == 0:
            rows.append((f"{g_en} {typo(s_en, rng)}", f"{s_az} {g_az}", "typo in surname"))
        else:
            rows.append(
                (f"{typo(g_en, rng)} {s_en}", f"{g_ru} {p_ru} {marker_ru} {s_ru}", "typo in given, oglu")
            )
        if index % 3 == 0:
            rows.append((f"{s_rulat} {g_rulat}", f"{g_en} {s_en}", "Russian-era vs ICAO transliteration"))
    return rows


def az_negatives() -> list[tuple[str, str, str]]:
    rows = []
    people = AZ_PEOPLE
    # Same surname stem (male and female forms differ, so pair people whose surnames agree exactly).
    for a in range(len(people)):
        for b in range(a + 1, len(people)):
            (ga, sa, _, _), (gb, sb, _, _) = people[a], people[b]
            if sa[1] == sb[1] and ga[1] != gb[1]:
                rows.append((f"{ga[0]} {sa[0]}", f"{gb[2]} {sb[2]}", "same surname, other person"))
    # Same surname, another first name (invented, same gender).
    for index, (given, surname, _, female) in enumerate(people):
        other = people[(index + 7) % len(people)]
        if other[3] != female or other[0][1] == given[1]:
            continue
        rows.append((f"{given[1]} {surname[1]}", f"{other[0][1]} {surname[1]}", "same surname, other given"))
        rows.append(
            (f"{surname[2]} {given[2]}", f"{surname[0]} {other[0][0]}", "same surname other given, scripts")
        )
    # Same first name, another surname.
    for index, (given, surname, _, female) in enumerate(people):
        other = people[(index + 11) % len(people)]
        if other[3] != female or other[1][1] == surname[1]:
            continue
        rows.append((f"{given[0]} {surname[0]}", f"{given[1]} {other[1][1]}", "same given, other surname"))
    # Same first name, another surname, across scripts.
    for index, (given, surname, _, female) in enumerate(people):
        other = people[(index + 17) % len(people)]
        if other[3] != female or other[1][1] == surname[1]:
            continue
        rows.append(
            (f"{surname[2]} {given[2]}", f"{given[0]} {other[1][0]}", "same given other surname, scripts")
        )
    # Unrelated people of the same community.
    for index, (given, surname, _, _) in enumerate(people[::2]):
        other = people[(2 * index + 5) % len(people)]
        rows.append((f"{given[1]} {surname[1]}", f"{other[1][2]} {other[0][2]}", "unrelated names"))
    # Same given and surname, different patronymic on both sides.
    for index, (given, surname, patronymic, female) in enumerate(people[:10]):
        other = people[(index + 5) % 10][2]
        marker = "qızı" if female else "oğlu"
        rows.append(
            (
                f"{given[0]} {patronymic[0]} {marker} {surname[0]}",
                f"{surname[2]} {given[2]} {other[2]}",
                "same name, different father (patronymic conflict)",
            )
        )
    return rows


def main() -> None:
    rng = random.Random(20261126)
    positives = az_positives(rng) + OTHER_POSITIVES
    negatives = az_negatives() + SIMILAR_NEGATIVES
    with (HERE / "eval_pairs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name1", "name2", "label", "notes"])
        for name1, name2, notes in positives:
            writer.writerow([name1, name2, 1, notes])
        for name1, name2, notes in negatives:
            writer.writerow([name1, name2, 0, notes])
    print(f"{len(positives)} positives, {len(negatives)} negatives")


if __name__ == "__main__":
    main()
