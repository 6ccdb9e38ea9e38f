from setuptools import Extension, setup

setup(
    packages=["routeplan"],
    ext_modules=[Extension("routeplan._distance", ["fastpath/distance.c"], libraries=["m"])],
)
