# Makes csrc/nnfast/ the package nnfast for Cython, so that ``cimport nnfast._team`` names
# the module the extension nnfast._team (csrc/_team.pyx) at run time.
